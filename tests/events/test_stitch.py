"""stitch: samples of one process pooled with pT-hat-stitched weights (hand counts)."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

from trigkit.core.errors import TrigkitError
from trigkit.events.batch import EventBatch
from trigkit.events.stitch import stitch


def _sample(pthat: list[float], weight: list[float], src: str, lumi: float = 1000.0) -> EventBatch:
    n = len(pthat)
    jets = ak.Array([[{"pt": 40.0, "eta": 0.0, "phi": 0.0, "mass": 5.0}] for _ in range(n)])
    truth = ak.zip({"pthat": np.asarray(pthat, dtype=np.float32), "mhh": np.full(n, np.nan)})
    return EventBatch(
        jets=jets, weight=weight, truth=truth, process="qcd", lumi_pb=lumi, source=src
    )


def test_slice_shares_the_overlap_by_event_counts() -> None:
    # inclusive from 15 GeV: 3 events below 250, 1 above; slice from 250: 3 events
    incl = _sample([15.0, 40.0, 100.0, 300.0], [8.0, 4.0, 2.0, 1.0], "incl")
    sl = _sample([250.0, 260.0, 400.0], [0.5, 0.4, 0.3], "slice")
    got = stitch([incl, sl])
    assert len(got) == 7 and got.source == "incl + slice"
    # below 250 only the inclusive sample: weights as they were; above: 1 of 4 events is the
    # inclusive one's (share 1/4), 3 are the slice's (share 3/4)
    np.testing.assert_allclose(got.weight, [8.0, 4.0, 2.0, 0.25, 0.375, 0.3, 0.225])
    above = got.weight[ak.to_numpy(got.truth.pthat) >= 250.0].sum()
    assert above == pytest.approx(0.25 * 1.0 + 0.75 * (0.5 + 0.4 + 0.3))


def test_samples_of_one_threshold_pool_by_event_counts() -> None:
    a = _sample([15.0, 20.0], [3.0, 3.0], "a")  # 2 events
    b = _sample([15.0, 30.0, 90.0, 16.0], [1.5, 1.5, 1.5, 1.5], "b")  # 4 events
    got = stitch([a, b])
    np.testing.assert_allclose(got.weight, [1.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    assert got.weight.sum() == pytest.approx(6.0)  # both estimate sigma x L = 6


def test_one_sample_is_returned_as_it_is() -> None:
    a = _sample([15.0, 20.0], [3.0, 3.0], "a")
    assert stitch([a]) is a


def test_different_luminosities_are_refused() -> None:
    a = _sample([15.0], [1.0], "a.parquet", lumi=1000.0)
    b = _sample([250.0], [1.0], "b.parquet", lumi=300.0)
    with pytest.raises(TrigkitError, match=r"b\.parquet: lumi 300 pb\^-1, but a\.parquet has 1000"):
        stitch([a, b])
