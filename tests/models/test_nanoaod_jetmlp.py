"""Smoke test: a jet-level b-tagger trains on real CMS NanoAOD jet features."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

NANO = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "nano_tt_v12.root"


@pytest.fixture(scope="module")
def nano():
    nanoaod = pytest.importorskip("trigkit.events.nanoaod")
    path = NANO if NANO.exists() else Path("/work/shared/data/nano_tt_v12.root")
    if not path.exists():
        pytest.skip("shared NanoAOD sample not present")
    return nanoaod.read_nanoaod(path)


def test_jet_mlp_trains_on_nanoaod(nano, tmp_path):
    from trigkit.models.saved import load_model
    from trigkit.models.training import train

    tm = train("btag-jetmlp", [nano], epochs=3, seed=0, progress=False)
    assert tm.extra["n_train"] > 100
    p = tm.predict(nano)
    assert p.shape == (tm.extra["n_train"] + tm.extra["n_val"], 3)
    assert np.isfinite(p).all()
    assert tm.baselines[0].name == "stored-btag"
    back = load_model(tm.save(tmp_path / "jet.pt"))
    np.testing.assert_array_equal(back.predict(nano), p)
