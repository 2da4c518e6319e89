"""The agreement ceilings and decomposition on tiny arrays: hand counts and brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from trigkit.core.errors import TrigkitError
from trigkit.emulator.agreement_ceiling import (
    apply_cuts,
    box_ceiling,
    decompose,
    monotone_ceiling,
    monotone_fit,
    monotone_predict,
    monotone_two_fold,
    shift_ceiling,
    two_fold,
)


def brute_monotone(x: np.ndarray, r: np.ndarray) -> int:
    """Most agreeing events over every labelling of the events that is monotone (no event at or
    above another in every feature gets a lower label): enumerates all 2^n labellings."""
    n, best = len(r), 0
    le = [[bool(np.all(x[i] <= x[j])) for j in range(n)] for i in range(n)]
    for f in itertools.product((0, 1), repeat=n):
        if all(not (le[i][j] and f[i] > f[j]) for i in range(n) for j in range(n)):
            best = max(best, sum(int(f[i] == r[i]) for i in range(n)))
    return best


def brute_box(x: np.ndarray, r: np.ndarray) -> int:
    """Most agreeing events over every AND of per-column cuts at the events' values (and +inf)."""
    grids = [list(np.unique(x[:, k])) + [np.inf] for k in range(x.shape[1])]
    cuts = itertools.product(*grids)
    return max(int(np.sum(np.all(x >= np.array(c), axis=1) == r)) for c in cuts)


def test_monotone_ceiling_by_hand() -> None:
    # one violating pair (2 recorded, 3 not): one error at least; the cut at 2 makes exactly one
    assert monotone_ceiling(np.array([1.0, 2.0, 3.0, 4.0]), np.array([0, 1, 0, 1])) == 3
    # identical features, different bits: one of them is wrong whatever the emulator
    assert monotone_ceiling(np.array([[1.0, 1.0], [1.0, 1.0]]), np.array([1, 0])) == 1
    # a and b recorded, c (between them, above neither) not: a monotone emulator gets all three
    # (no box does: passing a and b needs both cuts <= 1, which passes c)
    x = np.array([[1.0, 2.0], [2.0, 1.0], [1.5, 1.5]])
    r = np.array([1, 1, 0])
    assert monotone_ceiling(x, r) == 3
    assert box_ceiling(x, r)[0] == brute_box(x, r) == 2
    # a chain with alternating bits, 1 < 2 < 3 < 4 < 5 in both features: 1 0 1 0 1 -> 3
    chain = np.repeat(np.arange(5.0)[:, None], 2, axis=1)
    assert monotone_ceiling(chain, np.array([1, 0, 1, 0, 1])) == 3
    # -inf (fewer jets than the cut needs) is allowed and ordered below everything
    assert monotone_ceiling(np.array([-np.inf, 0.5]), np.array([1, 0])) == 1


@pytest.mark.parametrize("seed", range(12))
def test_monotone_ceiling_fit_and_box_match_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, d = int(rng.integers(3, 10)), int(rng.integers(1, 3))
    x = rng.integers(0, 4, size=(n, d)).astype(np.float64)  # ties on purpose
    r = rng.integers(0, 2, size=n).astype(bool)
    ceiling = monotone_ceiling(x, r)
    assert ceiling == brute_monotone(x, r)
    kept = monotone_fit(x, r)
    assert int(np.sum(monotone_predict(kept, x) == r)) == ceiling
    n_box, cuts = box_ceiling(x, r)
    assert n_box == brute_box(x, r) == int(np.sum(apply_cuts(x, cuts) == r))
    assert n_box <= ceiling


def test_shift_ceiling_by_hand() -> None:
    # cut 0.9 passes 0.9, 1.1, 1.3: right on 0.9 and 1.1 (recorded) and 0.5 (not): 3
    assert shift_ceiling(np.array([0.5, 0.9, 1.1, 1.3]), np.array([0, 1, 1, 0])) == (3, 0.9)
    # nothing recorded: +inf (fail everything) is the lowest cut that agrees everywhere
    assert shift_ceiling(np.array([0.5, 2.0]), np.array([0, 0])) == (2, np.inf)


def test_two_fold_by_hand() -> None:
    # even events (0, 2, 4): margins 1, 3, 5 recorded 0, 1, 1 -> cut 3; odd (1, 3, 5): 2, 4, 6
    # recorded 0, 0, 1 -> cut 6. Cut 3 on the odd events: 4 and 6 pass, 2 fails: 2 of 3 agree;
    # cut 6 on the even events: all fail, 1 of 3 agrees (margin 1).
    m = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    r = np.array([0, 0, 1, 0, 1, 1])
    assert two_fold(m, r) == (3, [(3.0,), (6.0,)])
    # the monotone fit in one feature is the same cut: the same out-of-sample count
    assert monotone_two_fold(m, r) == 3


def test_decompose_by_hand() -> None:
    margins = {
        "jets": np.array([1.2, 1.05, 0.95, 1.3, 0.5, 1.2, 0.8]),
        "btag": np.array([1.5, 1.2, 1.5, 0.7, 0.9, 1.5, 1.5]),
    }
    recorded = np.array([0, 0, 1, 1, 1, 1, 0])
    d = decompose(margins, recorded, band=0.1)
    # event 0: far above, not recorded; 1: near (jets 1.05), not recorded; 2: fails jets only,
    # near (0.95 >= 1/1.1); 3: fails btag only, far (0.7); 4: fails both, far; 5: both pass;
    # 6: fails jets far below, not recorded
    assert (d.n, d.both_pass, d.both_fail) == (7, 1, 1)
    assert (d.emulated_only_far, d.emulated_only_near) == (1, 1)
    assert (d.recorded_only_near, d.recorded_only_far) == (1, 2)
    assert d.recorded_only_failing == {"jets": 1, "btag": 1}
    assert d.recorded_only_several == 1
    assert d.far_above == (2, 1)  # events 0 and 5, of them 5 recorded
    assert d.far_below == (3, 2)  # events 3, 4, 6, of them 3 and 4 recorded
    assert (d.emulated_only, d.recorded_only) == (2, 3)


def test_bad_inputs_are_one_line_errors() -> None:
    with pytest.raises(TrigkitError, match="recorded bits: shape"):
        monotone_ceiling(np.zeros((3, 2)), np.zeros(2))
    with pytest.raises(TrigkitError, match="without NaN"):
        monotone_ceiling(np.array([np.nan, 1.0]), np.array([0, 1]))
    with pytest.raises(TrigkitError, match="expected"):
        box_ceiling(np.zeros((4, 3)), np.zeros(4))
    with pytest.raises(TrigkitError, match="no cut"):
        decompose({}, np.zeros(2))
