"""The careful awkward and plain numpy contenders give the fused pass's decisions, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from tests.emulator.conftest import synthetic_batch
from trigkit.benchmarks.emulator_baselines import run_awkward_careful, run_numpy
from trigkit.emulator.columns import columns_from_batch
from trigkit.emulator.compiled import compile_menu
from trigkit.emulator.engine.onepass import run_onepass as run_fused
from trigkit.emulator.engine.reference import run_reference_events as run_vectorised
from trigkit.emulator.schema import load_menu

MENUS = ["run3_hh4b", "atlas_2b2j"]


@pytest.fixture(scope="module")
def batch():
    sig, bkg = synthetic_batch(300, 5, signal=True), synthetic_batch(300, 6)
    from trigkit.events.batch import EventBatch

    return EventBatch.concatenate([sig, bkg])


@pytest.mark.parametrize("name", MENUS)
def test_contenders_equal_fused_and_vectorised(batch, name: str) -> None:
    menu = load_menu(name)
    cmenu = compile_menu(menu)
    cols = columns_from_batch(batch, cmenu)
    fused = run_fused(cmenu, cols, 1)
    assert fused.any(axis=0).any() and not fused.all()  # the menu does select something
    np.testing.assert_array_equal(run_vectorised(menu, batch.jets, batch.fatjets), fused)
    np.testing.assert_array_equal(run_awkward_careful(menu, batch.jets, batch.fatjets), fused)
    np.testing.assert_array_equal(
        run_numpy(menu, cols, cmenu.jet_fields, cmenu.fatjet_fields), fused
    )


def test_numpy_handles_empty_events_and_ties() -> None:
    from tests.emulator.conftest import make_batch

    menu = load_menu("run3_hh4b")
    cmenu = compile_menu(menu)
    j = {"eta": 0.1, "phi": 0.0, "mass": 1.0, "l1_score": 0.5, "btag_deepflav": 0.5}
    jets = [
        [],
        [
            dict(j, pt=120.0, btag=0.6),
            dict(j, pt=90.0, btag=0.6),
            dict(j, pt=60.0, btag=0.6),
            dict(j, pt=50.0, btag=0.6),
            dict(j, pt=40.0, btag=float("nan")),
        ],
        [],
        [dict(j, pt=200.0, btag=0.9)],
    ]
    fat = [[], [], [], [{"pt": 300.0, "eta": 0.2, "msd": 50.0, "tau21": 0.3, "xbb": 0.5}]]
    b = make_batch(jets, fat)
    cols = columns_from_batch(b, cmenu)
    fused = run_fused(cmenu, cols, 1)
    np.testing.assert_array_equal(
        run_numpy(menu, cols, cmenu.jet_fields, cmenu.fatjet_fields), fused
    )
    np.testing.assert_array_equal(run_awkward_careful(menu, b.jets, b.fatjets), fused)
    assert fused[1].any() and fused[3].any() and not fused[0].any()
