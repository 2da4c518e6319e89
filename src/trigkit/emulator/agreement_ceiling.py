"""How well can any emulator that sees offline quantities only agree with recorded trigger bits?

Inputs are per-event features (the per-cut margins of :mod:`trigkit.emulator.margins`, or raw
quantities such as the four jet pts and the b-tag scores) and the recorded bits.

* :func:`monotone_ceiling`: the most events on which ANY emulator that is non-decreasing in
  every feature (a higher jet pt, HT or tag never turns a pass into a fail) can agree with the
  recorded bits. Such an emulator errs on at least one event of every pair (i recorded 1, j
  recorded 0, ``x_i <= x_j`` in every feature), and conversely the events left after removing
  a minimum vertex cover of that bipartite graph are matched by ``f(x) = [x >= some kept
  recorded-1 event]``; by Konig's theorem the cover has the size of a maximum matching, so the
  ceiling is ``n - max matching``. Fitted on the same events (in-sample), so optimistic: every
  per-cut threshold shift or monotone response (jet pt, HT, tag) is one such emulator.
  :func:`monotone_fit` / :func:`monotone_predict` give such an emulator, and
  :func:`monotone_two_fold` its out-of-sample agreement (fit on the even events, decide the odd
  ones, and conversely).
* :func:`shift_ceiling`: the best single cut ``margin >= c`` on one scalar (e.g. the minimum
  of the per-cut margins: one common threshold shift for every cut), in-sample too.
* :func:`box_ceiling`: the best AND of one cut per column (``x_k >= c_k``) of two columns,
  e.g. one jet-response scale for every kinematic cut and one for the tag; :func:`two_fold`
  fits those cuts on the even events and applies them to the odd ones, and conversely: an
  out-of-sample estimate of what such a fitted emulator reaches.
* :func:`decompose`: the disagreeing events by category (near / far from the thresholds, the
  cuts an event fails) and how often events far above / below every threshold were recorded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import maximum_bipartite_matching

from trigkit.core.errors import TrigkitError

MAX_BOX_EVENTS = 20_000


def _check(recorded: np.ndarray, n: int, what: str) -> np.ndarray:
    r = np.asarray(recorded)
    if r.ndim != 1 or len(r) != n:
        raise TrigkitError(f"recorded bits: shape {r.shape}, expected ({n},) like the {what}")
    return r.astype(bool)


def _violations(features: np.ndarray, recorded: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(features, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or np.isnan(x).any():
        raise TrigkitError(f"features: shape {x.shape}, expected (events, features) without NaN")
    r = _check(recorded, len(x), "features")
    # (n1, n0): recorded-1 event i is below recorded-0 event j in every feature
    return x, np.all(x[r][:, None, :] <= x[~r][None, :, :], axis=2)


def _matching(below: np.ndarray) -> np.ndarray:
    """Per recorded-1 event, its partner in a maximum matching of the violating pairs (-1)."""
    if below.size == 0:
        return np.full(below.shape[0], -1)
    return maximum_bipartite_matching(csr_matrix(below.astype(np.int8)), perm_type="column")


def monotone_ceiling(features: np.ndarray, recorded: np.ndarray) -> int:
    """Most events any emulator non-decreasing in each column of ``features`` (events x
    features; NaN not allowed, -inf / +inf are) can agree with ``recorded`` on (module doc)."""
    _, below = _violations(features, recorded)
    return below.shape[0] + below.shape[1] - int(np.sum(_matching(below) >= 0))


def monotone_fit(features: np.ndarray, recorded: np.ndarray) -> np.ndarray:
    """The recorded-1 events (rows of ``features``) that an emulator reaching
    :func:`monotone_ceiling` passes at and above: the complement of a minimum vertex cover
    (Konig's construction from the maximum matching). :func:`monotone_predict` applies it."""
    x, below = _violations(features, recorded)
    r = np.asarray(recorded, dtype=bool)
    n1, n0 = below.shape
    match_l = _matching(below)
    match_r = np.full(n0, -1)
    match_r[match_l[match_l >= 0]] = np.flatnonzero(match_l >= 0)
    # Z: vertices reachable from unmatched left vertices by alternating paths
    seen_l, seen_r = match_l < 0, np.zeros(n0, dtype=bool)
    todo = list(np.flatnonzero(seen_l))
    while todo:
        i = todo.pop()
        for j in np.flatnonzero(below[i] & ~seen_r):
            seen_r[j] = True
            k = match_r[j]
            if k >= 0 and not seen_l[k]:
                seen_l[k] = True
                todo.append(k)
    # cover = (left not in Z) + (right in Z); kept recorded-1 events = left in Z
    return x[r][seen_l]


def monotone_predict(kept: np.ndarray, features: np.ndarray) -> np.ndarray:
    """``f(x) = 1`` where ``x`` is at or above some kept event in every feature."""
    x = np.asarray(features, dtype=np.float64)
    x = x[:, None] if x.ndim == 1 else x
    k = np.asarray(kept, dtype=np.float64).reshape(-1, x.shape[1])
    if len(k) == 0:
        return np.zeros(len(x), dtype=bool)
    return np.any(np.all(k[None, :, :] <= x[:, None, :], axis=2), axis=1)


def shift_ceiling(margin: np.ndarray, recorded: np.ndarray) -> tuple[int, float]:
    """(most agreeing events, the cut reaching it) over every cut ``margin >= c``; the lowest
    such cut (+inf: fail every event)."""
    m = np.asarray(margin, dtype=np.float64)
    r = _check(recorded, len(m), "margins")
    cuts = np.concatenate([np.unique(m), [np.inf]])
    # passing at cut c: events with m >= c; agreement = recorded passes + recorded fails
    order = np.sort(m)
    n_ge = len(m) - np.searchsorted(order, cuts, side="left")
    ones = np.sort(m[r])
    ones_ge = len(ones) - np.searchsorted(ones, cuts, side="left")
    agree = ones_ge + (int((~r).sum()) - (n_ge - ones_ge))
    best = int(np.argmax(agree))
    return int(agree[best]), float(cuts[best])


def _columns(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    x = x[:, None] if x.ndim == 1 else x
    if x.ndim != 2 or x.shape[1] not in (1, 2) or np.isnan(x).any():
        raise TrigkitError(f"margins: shape {x.shape}, expected (events,) or (events, 2), no NaN")
    return x


def box_ceiling(x: np.ndarray, recorded: np.ndarray) -> tuple[int, tuple[float, ...]]:
    """(most agreeing events, the cuts) over every ``AND_k x[:, k] >= c_k`` for one or two
    columns, each ``c_k`` one of that column's values or +inf; ties go to the lowest cuts (the
    first column's first). Two columns take O(n^2) memory: at most ``MAX_BOX_EVENTS`` events."""
    x = _columns(x)
    r = _check(recorded, len(x), "margins")
    if x.shape[1] == 1:
        n, c = shift_ceiling(x[:, 0], r)
        return n, (c,)
    if len(r) > MAX_BOX_EVENTS:
        raise TrigkitError(
            f"margins: {len(r)} events; a two-column fit takes at most {MAX_BOX_EVENTS}"
        )
    grids = [np.concatenate([np.unique(x[:, k]), [np.inf]]) for k in range(2)]
    passes = [(x[None, :, k] >= g[:, None]).astype(np.float64) for k, g in enumerate(grids)]
    sign = np.where(r, 1.0, -1.0)  # a passing event agrees if recorded, disagrees if not
    agree = (passes[0] * sign[None, :]) @ passes[1].T + float(np.sum(~r))
    a, b = np.unravel_index(int(np.argmax(agree)), agree.shape)  # first maximum: lowest cuts
    return int(round(agree[a, b])), (float(grids[0][a]), float(grids[1][b]))


def apply_cuts(x: np.ndarray, cuts: tuple[float, ...]) -> np.ndarray:
    """``AND_k x[:, k] >= cuts[k]``."""
    x = _columns(x)
    return np.all(x >= np.asarray(cuts, dtype=np.float64)[None, :], axis=1)


def two_fold(x: np.ndarray, recorded: np.ndarray) -> tuple[int, list[tuple[float, ...]]]:
    """Agreeing events when the :func:`box_ceiling` cuts fitted on the even-numbered events
    decide the odd ones and conversely, and the two fitted cut sets (even fit first)."""
    x = _columns(x)
    r = _check(recorded, len(x), "margins")
    even = np.arange(len(r)) % 2 == 0
    total, fits = 0, []
    for train in (even, ~even):
        _, cuts = box_ceiling(x[train], r[train])
        total += int(np.sum(apply_cuts(x[~train], cuts) == r[~train]))
        fits.append(cuts)
    return total, fits


def monotone_two_fold(features: np.ndarray, recorded: np.ndarray) -> int:
    """Agreeing events when the :func:`monotone_fit` of the even-numbered events decides the odd
    ones and conversely: what the in-sample :func:`monotone_ceiling` keeps out of sample."""
    x = np.asarray(features, dtype=np.float64)
    r = _check(recorded, len(x), "features")
    even = np.arange(len(r)) % 2 == 0
    total = 0
    for train in (even, ~even):
        kept = monotone_fit(x[train], r[train])
        total += int(np.sum(monotone_predict(kept, x[~train]) == r[~train]))
    return total


@dataclass(frozen=True)
class Decomposition:
    """Where emulated (every margin >= 1) and recorded bits disagree, with a band: an event is
    *far* above when every margin is >= 1 + band, far below when some margin is < 1 / (1 +
    band), *near* otherwise."""

    band: float
    n: int
    both_pass: int
    both_fail: int
    emulated_only_near: int
    emulated_only_far: int
    recorded_only_near: int
    recorded_only_far: int
    recorded_only_failing: dict[str, int]  # recorded-only events failing only this cut
    recorded_only_several: int  # recorded-only events failing more than one cut
    far_above: tuple[int, int]  # (events far above every threshold, of them recorded)
    far_below: tuple[int, int]  # (events far below some threshold, of them recorded)

    @property
    def emulated_only(self) -> int:
        return self.emulated_only_near + self.emulated_only_far

    @property
    def recorded_only(self) -> int:
        return self.recorded_only_near + self.recorded_only_far


def decompose(
    margins: dict[str, np.ndarray], recorded: np.ndarray, band: float = 0.1
) -> Decomposition:
    """The decomposition of :class:`Decomposition` for per-cut ``margins`` (name -> per event)."""
    if not margins:
        raise TrigkitError("margins: no cut given")
    if not band >= 0:
        raise TrigkitError(f"band: {band}, expected >= 0")
    names = list(margins)
    m = np.stack([np.asarray(margins[k], dtype=np.float64) for k in names], axis=1)
    r = _check(recorded, len(m), "margins")
    low = m.min(axis=1)
    emu = low >= 1.0
    above, below = low >= 1.0 + band, low < 1.0 / (1.0 + band)
    fails = m < 1.0
    rec_only = r & ~emu
    single = rec_only & (fails.sum(axis=1) == 1)
    by_cut = {k: int(np.sum(single & fails[:, i])) for i, k in enumerate(names)}
    return Decomposition(
        band=float(band),
        n=len(r),
        both_pass=int(np.sum(r & emu)),
        both_fail=int(np.sum(~r & ~emu)),
        emulated_only_near=int(np.sum(~r & emu & ~above)),
        emulated_only_far=int(np.sum(~r & above)),
        recorded_only_near=int(np.sum(rec_only & ~below)),
        recorded_only_far=int(np.sum(rec_only & below)),
        recorded_only_failing=by_cut,
        recorded_only_several=int(np.sum(rec_only & (fails.sum(axis=1) > 1))),
        far_above=(int(above.sum()), int(np.sum(above & r))),
        far_below=(int(below.sum()), int(np.sum(below & r))),
    )
