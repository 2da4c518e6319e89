"""`summarize` against hand counts on a tiny hand-built batch, and against uproot on real data."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot

from trigkit.events.batch import EventBatch
from trigkit.events.nanoaod import iter_nanoaod
from trigkit.events.summary import summarize


def tiny_batch() -> EventBatch:
    """5 events; hadron flavours per event (b = 5) and mHH chosen for counting by hand."""
    flavours = [[5, 5, 0], [], [5, 4, 5, 5, 5], [0, -1], [5]]
    jets = ak.zip(
        {
            "pt": ak.Array([[float(30 + i) for i in range(len(f))] for f in flavours]),
            "hadron_flavour": ak.values_astype(ak.Array(flavours), np.int8),
        }
    )
    fatjets = ak.Array([[{"pt": 300.0}], [], [{"pt": 250.0}, {"pt": 260.0}], [], []])
    return EventBatch(
        jets=jets,
        weight=np.array([1.0, 2.0, 0.5, -1.0, 3.0]),
        truth=ak.zip({"mhh": np.array([300.0, 400.0, 500.0, np.nan, 600.0])}),
        fatjets=fatjets,
        triggers={
            "HLT_A": np.array([1, 1, 0, 1, 0], bool),
            "HLT_B": np.array([0, 0, 0, 0, 1], bool),
            "L1_C": np.array([1, 1, 1, 1, 1], bool),
        },
        process="hh4b",
    )


def test_hand_counts() -> None:
    s = summarize(tiny_batch(), top_triggers=2)
    assert s.n_events == 5
    assert s.sum_weights == pytest.approx(5.5)
    assert s.n_jets == 11 and s.mean_jets == pytest.approx(11 / 5)
    # b jets per event: 2, 0, 4, 0, 1 -> 0b: 2 events, 1b: 1, 2b: 1, 3b: 0, >=4b: 1
    assert s.bjet_fractions == pytest.approx((0.4, 0.2, 0.2, 0.0, 0.2))
    assert s.n_jets_unknown_flavour == 1
    # finite mHH sorted: 300, 400, 500, 600; linear interpolation at p% of 3 intervals:
    # 5% -> 300 + 0.15*100, 25% -> 375, 50% -> 450, 75% -> 525, 95% -> 500 + 0.85*100
    assert s.n_with_mhh == 4
    assert [p for p, _ in s.mhh_quantiles] == [5.0, 25.0, 50.0, 75.0, 95.0]
    assert [q for _, q in s.mhh_quantiles] == pytest.approx([315.0, 375.0, 450.0, 525.0, 585.0])
    assert s.n_fatjets == 3 and s.mean_fatjets == pytest.approx(0.6)
    assert s.trigger_counts == (("L1_C", 5), ("HLT_A", 3))
    assert s.n_trigger_bits == 3 and s.processes == ("hh4b",)


def test_streaming_equals_one_pass() -> None:
    batch = tiny_batch()
    assert summarize([batch[:2], batch[2:3], batch[3:]], top_triggers=2) == summarize(
        batch, top_triggers=2
    )


def test_empty_and_no_truth() -> None:
    s = summarize([])
    assert s.n_events == 0 and s.mhh_quantiles == () and s.n_fatjets is None
    assert np.isnan(s.mean_jets)


def test_real_nanoaod_matches_uproot(nano_tt: Path) -> None:
    s = summarize(iter_nanoaod(nano_tt, step_size=70), top_triggers=10)
    with uproot.open(nano_tt) as f:
        raw = f["Events"].arrays(filter_name=["Jet_hadronFlavour", "nJet", "nFatJet", "HLT_*"])
    nb = np.minimum(ak.to_numpy(ak.sum(raw.Jet_hadronFlavour == 5, axis=1)), 4)
    assert s.bjet_fractions == pytest.approx(tuple(np.mean(nb == k) for k in range(5)))
    assert s.n_jets == int(ak.sum(raw.nJet)) and s.n_fatjets == int(ak.sum(raw.nFatJet))
    expected = sorted(
        ((k, int(ak.sum(raw[k]))) for k in raw.fields if k.startswith("HLT_")),
        key=lambda kv: (-kv[1], kv[0]),
    )
    assert s.trigger_counts == tuple(expected)
    assert s.mhh_quantiles == ()
