"""Pileup mitigation (PUM) of the L1 MET: tower thresholds by |eta| ring and pileup estimate.

The Stage-2 calorimeter trigger of CMS (JINST 15 (2020) P10017, energy sums) sums towers into
ETM only above an ET threshold that depends on the tower's |ieta| and on an event-by-event
pileup estimate, the number of towers with nonzero ET in the central region; its thresholds were
tuned on zero-bias data. Here, the same scheme with thresholds measured on this engine's own
minimum-bias pool (the stand-in for zero-bias data; CMS's own table is not reproduced):

* pileup estimate: the number of towers above the tower threshold in the rings |ieta| <= 4
  (centres |eta| < 4 x 0.087), as a fraction of those 8 x 72 towers, in ``N_EST`` equal bins;
* calibration (:func:`calibrate`): ``N_CAL`` pileup-only events, Poisson-free, with uniform
  0..``MAX_PU`` pool events each (whole-tower phi rotations, as the overlay does), their
  towers after the tower threshold histogrammed per (|eta| ring, estimate bin) in steps of
  ``H_STEP`` GeV; the threshold is the ``QUANTILE`` of that ring's pileup tower ET (the upper
  edge of the histogram step where it is reached), bins no calibration event reached take the
  nearest reached bin's thresholds;
* :func:`met` sums the towers above their threshold (a tower at exactly its threshold is out).

With no pileup pool (mu = 0) every threshold is 0: every tower above the tower threshold counts.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from trigkit.events.pythia.far import Deposits, add_far_deposits
from trigkit.events.pythia.l1_grid import (
    N_ETA,
    N_PHI,
    TOWER,
    apply_tower_min,
    eta_centre,
    phi_centre,
)

N_RING = (N_ETA + 1) // 2  # |eta| rings: ie and N_ETA - 1 - ie share one
EST_ETA = 4 * TOWER
N_EST = 20
N_CAL, MAX_PU = 4000, 200
H_STEP, N_H = 0.05, 800  # tower-ET histogram: 0.05 GeV steps up to 40 GeV (overflow: last)
QUANTILE = 0.95
_SEED = 0x50554D % 2**31  # the calibration's own draws: thresholds are a function of the pool


@njit(cache=True)
def ring(ie: int) -> int:
    """|eta| ring of eta row ``ie`` (0 = outermost)."""
    return min(ie, N_ETA - 1 - ie)


@njit(cache=True)
def estimate_bin(grid: np.ndarray) -> int:
    """Pileup-estimate bin of a thresholded tower grid (N_ETA, N_PHI)."""
    n, tot = 0, 0
    for ie in range(N_ETA):
        if abs(eta_centre(ie)) >= EST_ETA:
            continue
        for ip in range(N_PHI):
            tot += 1
            if grid[ie, ip] > 0.0:
                n += 1
    return min(N_EST - 1, n * N_EST // tot)


@njit(cache=True)
def met(grid: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """(MET, phi) of a thresholded tower grid, from the towers above their PUM threshold."""
    b = estimate_bin(grid)
    ex, ey = 0.0, 0.0
    for ip in range(N_PHI):
        phi = phi_centre(ip)
        et = 0.0
        for ie in range(N_ETA):
            if grid[ie, ip] > thresholds[ring(ie), b]:
                et += grid[ie, ip]
        ex -= et * np.cos(phi)
        ey -= et * np.sin(phi)
    return np.array([np.hypot(ex, ey), np.arctan2(ey, ex)])


def no_thresholds() -> np.ndarray:
    """The table of an event sample without pileup: every tower counts."""
    return np.zeros((N_RING, N_EST))


def calibrate(deposits: Deposits, n_events: int = N_CAL, seed: int = _SEED) -> np.ndarray:
    """(N_RING, N_EST) thresholds (GeV) from pileup-only overlays of the pool ``deposits``."""
    n_pool = len(deposits.off) - 1
    rng = np.random.default_rng(seed)
    n_pu = rng.integers(0, MAX_PU + 1, n_events)
    picks = rng.integers(0, n_pool, int(n_pu.sum()))
    rots = rng.integers(0, N_PHI, int(n_pu.sum()))
    foff = np.zeros(n_events + 1, dtype=np.int64)
    np.cumsum(n_pu, out=foff[1:])
    hist = tower_histograms(deposits.bins, deposits.val, deposits.off, foff, picks, rots)
    return thresholds_from(hist)


def thresholds_from(hist: np.ndarray) -> np.ndarray:
    """The ``QUANTILE`` threshold of each (ring, estimate bin) histogram; empty estimate bins
    take the nearest non-empty bin's thresholds."""
    out = np.zeros(hist.shape[:2])
    filled = hist.sum(axis=(0, 2)) > 0
    if not filled.any():
        return out
    cum = np.cumsum(hist, axis=2)
    total = cum[:, :, -1:]
    reached = cum >= QUANTILE * np.maximum(total, 1)
    step = np.argmax(reached, axis=2)  # first step where the quantile is reached
    out = np.where(total[:, :, 0] > 0, (step + 1) * H_STEP, 0.0)
    idx = np.flatnonzero(filled)
    nearest = idx[np.abs(np.arange(N_EST)[:, None] - idx[None, :]).argmin(axis=1)]
    return out[:, nearest]


@njit(cache=True)
def tower_histograms(
    dbins: np.ndarray,
    dval: np.ndarray,
    doff: np.ndarray,
    foff: np.ndarray,
    picks: np.ndarray,
    rots: np.ndarray,
) -> np.ndarray:
    """(N_RING, N_EST, N_H) counts of thresholded pileup tower ET: event ``e`` overlays the pool
    events ``picks[foff[e]:foff[e + 1]]``, rotated by ``rots`` towers."""
    hist = np.zeros((N_RING, N_EST, N_H))
    for e in range(len(foff) - 1):
        grid = np.zeros((N_ETA, N_PHI))
        add_far_deposits(grid, e, dbins, dval, doff, foff, picks, rots)
        apply_tower_min(grid, grid)
        b = estimate_bin(grid)
        for ie in range(N_ETA):
            for ip in range(N_PHI):
                et = grid[ie, ip]
                if et > 0.0:
                    hist[ring(ie), b, min(N_H - 1, int(et / H_STEP))] += 1
    return hist
