"""Generator API: reproducibility, chunking, thread independence, errors, CLI."""

from __future__ import annotations

import hashlib

import awkward as ak
import numba
import numpy as np
import pytest

from trigkit.cli.app import main
from trigkit.core.errors import TrigkitError
from trigkit.events.batch import EventBatch
from trigkit.events.generator import generate, iter_generate
from trigkit.events.parquet_io import read_parquet


def same(a: EventBatch, b: EventBatch) -> bool:
    return ak.array_equal(a.to_awkward(), b.to_awkward(), equal_nan=True) and np.array_equal(
        a.weight, b.weight
    )


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("process", ["hh4b", "qcd", "ttbar"])
def test_same_seed_same_events_regardless_of_chunking(process):
    whole = generate(process, 700, seed=3)
    chunks = list(iter_generate(process, 700, seed=3, chunk_size=256))
    assert [len(c) for c in chunks] == [256, 256, 188]
    assert same(whole, EventBatch.concatenate(chunks))
    assert same(whole, generate(process, 700, seed=3))
    other = generate(process, 700, seed=4)
    assert not ak.array_equal(whole.jets.pt, other.jets.pt)


def test_events_do_not_depend_on_thread_count():
    n_threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = generate("hh4b", 500, seed=9)
    finally:
        numba.set_num_threads(n_threads)
    assert same(one, generate("hh4b", 500, seed=9))


def test_prefix_of_larger_sample_has_same_kinematics():
    small = generate("hh4b", 100, seed=5)
    big = generate("hh4b", 300, seed=5)[:100]
    assert ak.array_equal(small.jets, big.jets) and ak.array_equal(small.fatjets, big.fatjets)


def test_unknown_process_lists_valid_ones():
    with pytest.raises(TrigkitError, match="unknown process 'zprime'.*hh4b, qcd, ttbar"):
        generate("zprime", 10, 1)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_events": 0, "seed": 1}, "n_events"),
        ({"n_events": 10, "seed": -1}, "seed"),
        ({"n_events": 10, "seed": 1, "lumi_pb": 0.0}, "lumi_pb"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(TrigkitError, match=match):
        generate("qcd", **kwargs)


def test_metadata_fields():
    b = generate("ttbar", 50, seed=2, lumi_pb=12.0)
    assert (b.process, b.lumi_pb) == ("ttbar", 12.0)
    assert "ttbar" in b.source and "seed=2" in b.source


def test_cli_generate_reproducible_file(tmp_path, capsys):
    a, b, c = tmp_path / "a.parquet", tmp_path / "b.parquet", tmp_path / "c.parquet"
    args = ["events", "generate", "--engine", "fast", "--process", "hh4b", "--events", "1500"]
    args += ["--chunk-size", "600"]
    assert main([*args, "--seed", "1", "--out", str(a)]) == 0
    assert main([*args, "--seed", "1", "--out", str(b)]) == 0
    assert main([*args, "--seed", "2", "--out", str(c)]) == 0
    assert sha(a) == sha(b) != sha(c)
    batch = read_parquet(a)
    assert len(batch) == 1500 and batch.process == "hh4b"
    assert same(batch, generate("hh4b", 1500, seed=1))
    assert "wrote 1500 hh4b events" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, match",
    [
        (["--process", "wprime", "--events", "10", "--out", "x.parquet"], "unknown process"),
        (["--process", "qcd", "--events", "10", "--out", "x.csv"], ".parquet"),
    ],
)
def test_cli_bad_input_is_one_line_error(tmp_path, capsys, argv, match):
    argv = [a if a not in ("x.parquet", "x.csv") else str(tmp_path / a) for a in argv]
    assert main(["events", "generate", *argv]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and match in err[0]
    assert list(tmp_path.iterdir()) == []


def test_numba_cache_stamp_tracks_kernel_sources(tmp_path, monkeypatch):
    from trigkit.events.generator import _cache

    pkg = tmp_path / "gen"
    (pkg / "__pycache__").mkdir(parents=True)
    (pkg / "tracks.py").write_text("x = 1\n")
    stale = pkg / "__pycache__" / "kernels.event_pass-1.py311.nbi"
    stale.write_text("old")
    monkeypatch.setattr(_cache, "_HERE", pkg)
    _cache.sync_numba_cache()
    assert not stale.exists()  # first sight of these sources: cache dropped
    stale.write_text("new")
    _cache.sync_numba_cache()
    assert stale.exists()  # unchanged sources: cache kept
    (pkg / "build.py").write_text("y = 2\n")  # not jitted: no effect
    _cache.sync_numba_cache()
    assert stale.exists()
    (pkg / "tracks.py").write_text("x = 2\n")
    _cache.sync_numba_cache()
    assert not stale.exists()
