"""Each primitive against hand counts, compiled and as plain Python (py_func)."""

from __future__ import annotations

import numpy as np
import pytest

from trigkit.emulator.kernels import fatjet_pass, ht_sum, jets_pass, score_count, score_top_sum

# one event, jets ordered by decreasing pt
PT = np.array([100.0, 80.0, 60.0, 45.0, 31.0, 29.0], dtype=np.float32)
ETA = np.array([0.1, -2.6, 1.0, -1.0, 2.4, 0.0], dtype=np.float32)
BTAG = np.array([0.2, 0.99, 0.7, 0.9, 0.55, 0.95], dtype=np.float32)


def both(kernel):
    return pytest.mark.parametrize("fn", [kernel, kernel.py_func], ids=["jit", "python"])


@both(jets_pass)
def test_jets_pass_hand_counts(fn) -> None:
    # |eta| <= 2.5 jets: 100, 60, 45, 31, 29
    thr = np.array([70.0, 55.0, 40.0, 35.0, 100.0, 60.0, 45.0, 31.0, 29.0, 30.0])
    assert fn(PT, ETA, 0, 6, thr, 0, 3, 2.5)  # 100>=70, 60>=55, 45>=40
    assert not fn(PT, ETA, 0, 6, thr, 0, 4, 2.5)  # 4th central jet is 31 < 35
    assert fn(PT, ETA, 0, 6, thr, 4, 5, 2.5)  # thresholds equal to the pts pass (>=)
    assert fn(PT, ETA, 0, 6, thr, 0, 4, 3.0)  # with |eta|<=3: 100, 80, 60, 45
    assert not fn(PT, ETA, 0, 0, thr, 0, 1, 2.5)  # no jets
    assert not fn(PT, ETA, 2, 3, thr, 0, 2, 2.5)  # one jet for two thresholds


@both(ht_sum)
def test_ht_hand_sum(fn) -> None:
    assert fn(PT, ETA, 0, 6, 30.0, 2.5) == pytest.approx(100 + 60 + 45 + 31)
    # float32(2.4) = 2.4000001 > 2.4: comparisons are in float64, so that jet is outside |eta| <= 2.4
    assert fn(PT, ETA, 0, 6, 30.0, 2.4) == pytest.approx(100 + 60 + 45)
    assert fn(PT, ETA, 0, 6, 30.0, 2.41) == pytest.approx(100 + 60 + 45 + 31)
    assert fn(PT, ETA, 0, 6, 0.0, 5.0) == pytest.approx(float(PT.astype(np.float64).sum()))
    assert fn(PT, ETA, 0, 6, 50.0, 2.5) == pytest.approx(160.0)
    assert fn(PT, ETA, 3, 3, 30.0, 2.5) == 0.0


@both(ht_sum)
def test_ht_leading_hand_sum(fn) -> None:
    # selected (pt >= 30, |eta| <= 2.5): 100, 60, 45, 31 (80 at |eta| 2.6 is skipped, not counted)
    assert fn(PT, ETA, 0, 6, 30.0, 2.5, 1) == 100.0
    assert (
        fn(PT, ETA, 0, 6, 30.0, 2.5, 2) == 160.0
    )  # 100 + 60: the failing-|eta| 80 is not one of the 2
    assert fn(PT, ETA, 0, 6, 30.0, 2.5, 3) == 205.0
    assert fn(PT, ETA, 0, 6, 30.0, 2.5, 4) == 236.0  # exactly 4 selected
    assert fn(PT, ETA, 0, 6, 30.0, 2.5, 5) == 236.0  # fewer than 5 selected: all of them
    assert (
        fn(PT, ETA, 0, 6, 30.0, 2.5, 0) == 236.0
    )  # 0: no limit (what omitting `leading` compiles to)
    assert fn(PT, ETA, 0, 6, 0.0, 5.0, 2) == 180.0  # |eta| <= 5: 100 + 80
    assert fn(PT, ETA, 0, 6, 0.0, 5.0, 6) == pytest.approx(float(PT.astype(np.float64).sum()))
    assert fn(PT, ETA, 1, 6, 30.0, 2.5, 2) == 105.0  # from the 2nd jet on: 60 + 45
    assert fn(PT, ETA, 3, 3, 30.0, 2.5, 2) == 0.0


@both(score_count)
def test_score_count_hand_counts(fn) -> None:
    # selected (pt>=30, |eta|<=2.5): 100(0.2) 60(0.7) 45(0.9) 31(0.55)
    assert fn(PT, ETA, BTAG, 0, 6, 30.0, 2.5, 0.55, 99) == 3
    assert fn(PT, ETA, BTAG, 0, 6, 30.0, 2.5, 0.56, 99) == 2
    assert fn(PT, ETA, BTAG, 0, 6, 30.0, 2.5, 0.55, 2) == 2  # stops at n
    assert fn(PT, ETA, BTAG, 0, 6, 0.0, 3.0, 0.89, 99) == 3  # 0.99, 0.9, 0.95
    assert fn(PT, ETA, BTAG, 0, 6, 0.0, 3.0, 0.9, 99) == 2  # float32(0.9) < 0.9 in float64


@both(score_top_sum)
def test_score_top_hand_values(fn) -> None:
    total, n = fn(PT, ETA, BTAG, 0, 6, 30.0, 2.5, 2)
    assert n == 4 and total == pytest.approx(float(np.float32(0.9)) + float(np.float32(0.7)))
    total, n = fn(PT, ETA, BTAG, 0, 6, 30.0, 2.5, 4)
    assert total == pytest.approx(sum(float(np.float32(x)) for x in (0.9, 0.7, 0.55, 0.2)))
    total, n = fn(PT, ETA, BTAG, 0, 6, 30.0, 2.5, 3)
    assert total == pytest.approx(sum(float(np.float32(x)) for x in (0.9, 0.7, 0.55)))
    total, n = fn(PT, ETA, BTAG, 0, 6, 0.0, 3.0, 1)
    assert n == 6 and total == pytest.approx(float(np.float32(0.99)))
    _, n = fn(PT, ETA, BTAG, 4, 6, 30.0, 2.5, 2)
    assert n == 1  # fewer than k selected jets: the caller fails the cut


@both(score_top_sum)
def test_score_top_missing_score_never_passes(fn) -> None:
    sc = np.array([0.9, -np.inf, 0.1], dtype=np.float32)
    total, n = fn(PT[:3], np.zeros(3, np.float32), sc, 0, 3, 0.0, 2.5, 3)
    assert n == 3 and total == -np.inf


@both(fatjet_pass)
def test_fatjet_hand_counts(fn) -> None:
    pt = np.array([400.0, 260.0, 240.0], dtype=np.float32)
    eta = np.array([0.0, 2.6, 1.0], dtype=np.float32)
    msd = np.array([30.0, 120.0, 100.0], dtype=np.float32)
    xbb = np.array([0.9, 0.9, 0.5], dtype=np.float32)
    assert fn(
        pt, eta, msd, xbb, 0, 3, 250.0, 3.0, 40.0, 0.06, 1
    )  # the 260 GeV one (|eta| 2.6 <= 3)
    assert not fn(pt, eta, msd, xbb, 0, 3, 250.0, 2.5, 40.0, 0.06, 1)
    assert fn(pt, eta, msd, xbb, 0, 3, 200.0, 2.5, 40.0, -np.inf, 1)
    assert not fn(pt, eta, msd, xbb, 0, 3, 200.0, 2.5, 40.0, 0.6, 1)
    assert fn(pt, eta, msd, xbb, 0, 3, 200.0, 5.0, 0.0, 0.5, 3)
    assert not fn(pt, eta, msd, xbb, 0, 3, 200.0, 5.0, 0.0, 0.5, 4)
