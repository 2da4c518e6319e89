"""``btag_mean`` / ``btag_sum``: hand values, in both engines."""

from __future__ import annotations

import numpy as np

from tests.emulator.cuts.conftest import PT, decide, jets

F = [float(np.float32(x)) for x in (0.9, 0.7, 0.55, 0.2)]  # selected scores, highest first


def test_score_sum_hand_values() -> None:
    top2, top3, top4 = F[0] + F[1], F[0] + F[1] + F[2], sum(F)
    cases = [
        ({"min": top2, "top": 2}, True),
        ({"min": float(np.nextafter(top2, 2.0)), "top": 2}, False),
        ({"min": top3, "top": 3}, True),
        ({"min": float(np.nextafter(top3, 3.0)), "top": 3}, False),
        ({"min": top4, "top": 4}, True),
        ({"min": float(np.nextafter(top4, 3.0)), "top": 4}, False),
        ({"min": float(np.float32(0.99)), "top": 1, "jet_pt": 0.0, "jet_abs_eta": 3.0}, True),
        ({"min": -1e30, "top": 2, "jet_pt": 31.0, "jet_abs_eta": 2.5}, True),
        ({"min": -1e30, "top": 2, "jet_pt": 50.0, "jet_abs_eta": 0.5}, False),  # 1 jet for top 2
    ]
    got = decide("btag_sum", [c for c, _ in cases], [jets(), []])
    assert got[0].tolist() == [want for _, want in cases]
    assert not got[1].any()  # fewer than k selected jets fails


def test_score_mean_hand_values() -> None:
    mean2 = (F[0] + F[1]) / 2
    cases = [
        ({"min": mean2}, True),
        ({"min": float(np.nextafter(mean2, 1.0))}, False),
        ({"min": sum(F) / 4, "top": 4}, True),
        ({"min": float(np.nextafter(sum(F) / 4, 1.0)), "top": 4}, False),
    ]
    got = decide("btag_mean", [c for c, _ in cases], [jets()])
    assert got[0].tolist() == [want for _, want in cases]


def test_missing_score_makes_the_sum_fail() -> None:
    ev = jets(PT[:3], [0.0] * 3, [0.9, float("nan"), 0.1])
    got = decide("btag_sum", [{"min": -1e30, "top": 3}, {"min": 0.89, "top": 1}], [ev])
    assert got[0].tolist() == [False, True]  # the sum of three is -inf; the highest is 0.9
