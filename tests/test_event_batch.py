"""EventBatch (trigkit.events.batch): length checks, selection, awkward round trip,
concatenation."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

from trigkit.events.batch import EventBatch


def _batch(n: int = 4, offset: float = 0.0, with_extras: bool = True) -> EventBatch:
    jets = ak.Array(
        [
            [
                {
                    "pt": offset + 10.0 * i + j,
                    "eta": 0.1 * j,
                    "phi": 0.0,
                    "mass": 5.0,
                    "hadron_flavour": 5,
                    "parton_flavour": 5,
                    "is_pileup": False,
                }
                for j in range(i % 3 + 1)
            ]
            for i in range(n)
        ]
    )
    truth = ak.zip({"mhh": np.arange(n) + 300.0 + offset, "h1_pt": np.ones(n), "h2_pt": np.ones(n)})
    kw = {}
    if with_extras:
        kw = {
            "fatjets": ak.Array([[{"pt": 300.0 + i, "msd": 120.0}] * (i % 2) for i in range(n)]),
            "triggers": {"HLT_X": np.arange(n) % 2 == 0},
        }
    return EventBatch(
        jets=jets,
        weight=np.arange(n) + 1.0 + offset,
        truth=truth,
        process="hh4b",
        lumi_pb=2.0,
        source="test",
        **kw,
    )


def test_len_and_weights() -> None:
    b = _batch(5)
    assert len(b) == 5
    assert b.weight.dtype == np.float64
    assert b.sum_weights == pytest.approx(1 + 2 + 3 + 4 + 5)


@pytest.mark.parametrize("which", ["weight", "truth", "fatjets", "trigger"])
def test_length_mismatch_refused(which: str) -> None:
    b = _batch(4)
    kw = {
        "jets": b.jets,
        "weight": b.weight,
        "truth": b.truth,
        "fatjets": b.fatjets,
        "triggers": dict(b.triggers),
        "source": "file.parquet",
    }
    if which == "weight":
        kw["weight"] = np.ones(3)
    elif which == "truth":
        kw["truth"] = b.truth[:2]
    elif which == "fatjets":
        kw["fatjets"] = b.fatjets[:1]
    else:
        kw["triggers"] = {"HLT_X": np.ones(7, bool)}
    with pytest.raises(ValueError, match=r"EventBatch from file\.parquet: .* jets has 4"):
        EventBatch(**kw)


def test_getitem_slice_mask_index() -> None:
    b = _batch(6)
    s = b[1:3]
    assert len(s) == 2 and s.weight.tolist() == [2.0, 3.0]
    assert s.truth.mhh.tolist() == [301.0, 302.0]
    assert s.triggers["HLT_X"].tolist() == [False, True]
    assert len(s.fatjets) == 2 and s.process == "hh4b" and s.lumi_pb == 2.0
    m = b[b.weight > 4]
    assert m.weight.tolist() == [5.0, 6.0]
    assert ak.num(m.jets).tolist() == [2, 3]
    idx = b[np.array([5, 0])]
    assert idx.truth.mhh.tolist() == [305.0, 300.0]


def test_awkward_round_trip() -> None:
    b = _batch(5)
    arr = b.to_awkward()
    assert len(arr) == 5 and set(arr.fields) == {"jets", "weight", "truth", "fatjets", "triggers"}
    back = EventBatch.from_awkward(arr, process="hh4b", lumi_pb=2.0, source="rt")
    assert ak.to_list(back.jets) == ak.to_list(b.jets)
    assert ak.to_list(back.fatjets) == ak.to_list(b.fatjets)
    assert ak.to_list(back.truth) == ak.to_list(b.truth)
    np.testing.assert_array_equal(back.weight, b.weight)
    assert back.triggers.keys() == b.triggers.keys()
    np.testing.assert_array_equal(back.triggers["HLT_X"], b.triggers["HLT_X"])
    assert back.trigobj is None and back.source == "rt"


def test_round_trip_without_optional_parts() -> None:
    b = _batch(3, with_extras=False)
    back = EventBatch.from_awkward(b.to_awkward(), process="qcd", lumi_pb=1.0)
    assert back.fatjets is None and back.triggers == {}
    assert ak.to_list(back.jets) == ak.to_list(b.jets)


def test_concatenate() -> None:
    a, c = _batch(3), _batch(2, offset=100.0)
    both = EventBatch.concatenate([a, c])
    assert len(both) == 5
    assert both.weight.tolist() == [1.0, 2.0, 3.0, 101.0, 102.0]
    assert ak.to_list(both.jets) == ak.to_list(a.jets) + ak.to_list(c.jets)
    assert both.triggers["HLT_X"].tolist() == [True, False, True, True, False]
    assert both.process == "hh4b" and both.lumi_pb == 2.0


def test_concatenate_empty_refused() -> None:
    with pytest.raises(ValueError, match="at least one batch"):
        EventBatch.concatenate([])
