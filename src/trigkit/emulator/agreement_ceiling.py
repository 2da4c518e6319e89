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
* :func:`shift_ceiling`: the best single cut ``margin >= c`` on one scalar (e.g. the minimum
  of the per-cut margins: one common threshold shift for every cut), in-sample too.
* :func:`decompose`: the disagreeing events by category (near / far from the thresholds, the
  cuts an event fails) and how often events far above / below every threshold were recorded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import maximum_bipartite_matching

from trigkit.core.errors import TrigkitError


def _check(recorded: np.ndarray, n: int, what: str) -> np.ndarray:
    r = np.asarray(recorded)
    if r.ndim != 1 or len(r) != n:
        raise TrigkitError(f"recorded bits: shape {r.shape}, expected ({n},) like the {what}")
    return r.astype(bool)


def monotone_ceiling(features: np.ndarray, recorded: np.ndarray) -> int:
    """Most events any emulator non-decreasing in each column of ``features`` (events x
    features; NaN not allowed, -inf / +inf are) can agree with ``recorded`` on (module doc)."""
    x = np.asarray(features, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or np.isnan(x).any():
        raise TrigkitError(f"features: shape {x.shape}, expected (events, features) without NaN")
    r = _check(recorded, len(x), "features")
    ones, zeros = x[r], x[~r]
    if len(ones) == 0 or len(zeros) == 0:
        return len(r)
    below = np.all(ones[:, None, :] <= zeros[None, :, :], axis=2)  # (n1, n0) violating pairs
    match = maximum_bipartite_matching(csr_matrix(below.astype(np.int8)), perm_type="column")
    return len(r) - int(np.sum(match >= 0))


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
