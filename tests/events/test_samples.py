"""`trigkit.events.samples`: one call for either engine, and the toy's label."""

from __future__ import annotations

from pathlib import Path

import pytest

from trigkit.core.errors import TrigkitError
from trigkit.events.parquet_io import read_parquet
from trigkit.events.samples import (
    PYTHIA_LABEL,
    TOY_LABEL,
    SampleSpec,
    engine_label,
    make_sample,
)


def test_unknown_engine_is_refused() -> None:
    with pytest.raises(TrigkitError, match="unknown engine 'herwig'; valid: pythia, fast"):
        SampleSpec("qcd", 10, 1, engine="herwig")


def test_labels_name_the_toy() -> None:
    assert engine_label("fast") == TOY_LABEL and "not physical" in TOY_LABEL
    assert engine_label("pythia") == PYTHIA_LABEL
    assert SampleSpec("qcd", 10, 1, engine="fast").label == TOY_LABEL


def test_pythia_spec_is_the_cache_key_of_the_engine() -> None:
    spec = SampleSpec("ttbar", 300, 7, mu=40.0, pool_size=150)
    cfg = spec.pythia_config()
    assert (cfg.process, cfg.n_events, cfg.seed, cfg.mu, cfg.pool_size) == (
        "ttbar",
        300,
        7,
        40.0,
        150,
    )
    assert (
        cfg.digest() == SampleSpec("ttbar", 300, 7, mu=40.0, pool_size=150).pythia_config().digest()
    )
    with pytest.raises(TrigkitError, match="n_events"):
        SampleSpec("ttbar", 0, 7).pythia_config()


def test_fast_sample_is_written_where_asked(tmp_path: Path) -> None:
    with pytest.raises(TrigkitError, match="needs an output path"):
        make_sample(SampleSpec("qcd", 50, 1, engine="fast"))
    ticks: list[tuple[str, int]] = []
    out = tmp_path / "sub" / "qcd.parquet"
    sample = make_sample(
        SampleSpec("qcd", 50, 1, engine="fast"), out, lambda s, n: ticks.append((s, n))
    )
    assert sample.path == out and not sample.cache_hit and sample.label == TOY_LABEL
    assert len(read_parquet(out)) == 50
    assert sum(n for stage, n in ticks if stage == "events") == 50
