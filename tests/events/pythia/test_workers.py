"""Seed blocks and ``--workers``: the same events for any worker count, errors in one line."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest

from trigkit.cli.app import main


def _same(a, b) -> None:
    assert len(a) == len(b)
    np.testing.assert_array_equal(a.weight, b.weight)
    for field in ("jets", "fatjets", "l1jets"):
        assert ak.to_list(getattr(a, field)) == ak.to_list(getattr(b, field)), field
    for field in a.truth.fields:  # flat columns; NaN (no Higgs) equals NaN here
        np.testing.assert_array_equal(ak.to_numpy(a.truth[field]), ak.to_numpy(b.truth[field]))


def test_one_and_two_workers_give_identical_events(pythia_cache: Path) -> None:
    from trigkit.events.pythia.config import PythiaConfig
    from trigkit.events.pythia.engine import run

    cfg = PythiaConfig("qcd", 24, seed=11, mu=5.0, pool_size=40, pthat_min=30.0)
    work = pythia_cache / "workers"
    one = run(cfg, work, workers=1, block=8)
    two = run(cfg, work, workers=2, block=8)
    _same(one, two)
    assert np.isclose(one.weight.sum(), two.weight.sum())
    # the blocks are distinct draws: no block repeats another's events
    pthat = np.asarray(one.truth["pthat"]).reshape(3, 8)
    assert len({tuple(row) for row in pthat}) == 3


def test_block_seeds_are_deterministic_and_distinct() -> None:
    from trigkit.events.pythia.block import block_seed, block_sizes
    from trigkit.events.pythia.config import MAX_PYTHIA_SEED

    seeds = [block_seed(3, i) for i in range(50)]
    assert seeds == [block_seed(3, i) for i in range(50)]
    assert len(set(seeds)) == 50 and all(0 <= s < MAX_PYTHIA_SEED - 1 for s in seeds)
    assert block_seed(4, 0) != block_seed(3, 0)
    assert block_sizes(1234, 500) == [500, 500, 234] and block_sizes(7, 500) == [7]


def test_worker_count_is_not_in_the_cache_key(pythia_cache: Path) -> None:
    from trigkit.events.pythia.cache import cached_sample
    from trigkit.events.pythia.config import PythiaConfig

    cfg = PythiaConfig("ttbar", 6, seed=2, mu=0.0)
    root = pythia_cache / "key"
    path, hit = cached_sample(cfg, root, workers=1)
    path2, hit2 = cached_sample(cfg, root, workers=2)
    assert (hit, hit2) == (False, True) and path2 == path


def test_worker_error_is_one_error_line(pythia_cache: Path, tmp_path: Path, capsys) -> None:
    argv = ["events", "generate", "-p", "qcd", "-n", "1200", "--mu", "0", "--workers", "2"]
    argv += ["--set", "PhaseSpace:pTHatMin = 20000", "--out", str(tmp_path / "x.parquet")]
    argv += ["--cache-dir", str(pythia_cache / "err")]
    assert main(argv) != 0
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("error:")]
    assert len(err) == 1 and "Pythia" in err[0], err
    assert not (tmp_path / "x.parquet").exists()
    assert not list((pythia_cache / "err").glob("*.parquet*"))


def test_bad_worker_count(tmp_path: Path, capsys) -> None:
    from trigkit.core.errors import TrigkitError
    from trigkit.events.pythia.config import PythiaConfig
    from trigkit.events.pythia.engine import run

    with pytest.raises(TrigkitError, match="workers"):
        run(PythiaConfig("qcd", 5, mu=0.0), tmp_path, workers=0)
