"""Far pileup vertices: the pool-event responses (computed once, :mod:`pool_response`) and
which of them a chunk's events get, where, and rotated how (plain arrays for the kernels)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

NEAR_DZ_MM = 10.0  # >> jet-track |z0| < 3 mm (+ resolution tails) and the 1 mm CHS window
N_ROT = 72  # rotations are whole towers: 2 pi / 72 (offline and L1 towers both have 72 in phi)


@dataclass(frozen=True)
class Deposits:
    """Sparse tower deposits per pool event: ``bins`` (ie x 72 + ip) and ``val``; pool event
    ``e`` owns rows ``off[e]:off[e + 1]``."""

    bins: np.ndarray
    val: np.ndarray
    off: np.ndarray


@njit(cache=True)
def sum_by_bin(
    bins: np.ndarray, val: np.ndarray, off: np.ndarray, n_bins: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per event (rows ``off[e]:off[e + 1]``), ``val`` summed over the rows sharing a bin (bins
    ``< 0``: no deposit), bins in the order first touched: :class:`Deposits`' three arrays."""
    n_ev = len(off) - 1
    out_bins = np.empty(len(bins), dtype=np.int64)
    out_val = np.empty(len(bins))
    doff = np.zeros(n_ev + 1, dtype=np.int64)
    grid = np.zeros(n_bins)
    k = 0
    for ev in range(n_ev):
        first = k
        for i in range(off[ev], off[ev + 1]):
            b = bins[i]
            if b < 0:
                continue
            if grid[b] == 0.0:
                out_bins[k] = b
                k += 1
            grid[b] += val[i]
        for j in range(first, k):
            out_val[j] = grid[out_bins[j]]
            grid[out_bins[j]] = 0.0
        doff[ev + 1] = k
    return out_bins[:k].copy(), out_val[:k].copy(), doff


@njit(cache=True)
def add_far_deposits(
    grid: np.ndarray,
    ev: int,
    dbins: np.ndarray,
    dval: np.ndarray,
    doff: np.ndarray,
    foff: np.ndarray,
    fpick: np.ndarray,
    frot: np.ndarray,
) -> None:
    """Add to ``grid`` (eta x phi towers) the deposits of event ``ev``'s far pileup vertices:
    pool event ``fpick[v]``'s :class:`Deposits`, rotated by ``frot[v]`` whole towers in phi."""
    n_phi = grid.shape[1]
    for v in range(foff[ev], foff[ev + 1]):
        e, r = fpick[v], frot[v]
        for d in range(doff[e], doff[e + 1]):
            grid[dbins[d] // n_phi, (dbins[d] % n_phi + r) % n_phi] += dval[d]


@dataclass(frozen=True)
class PoolResponse:
    """Detector response of every pool event (its vertex at z = 0, not rotated)."""

    tracks: np.ndarray  # (n, trackcols.N_K), K_PART = -1
    toff: np.ndarray
    stats: np.ndarray  # (pool events, tracking.N_S) counters; S_MERGED stays per event
    calo: Deposits
    l1: Deposits
    l1_tracks: np.ndarray  # (n, trackcols.N_K) Phase-2 L1 tracks, z0 absolute, K_PART = -1
    l1_toff: np.ndarray
    l1_pum: np.ndarray  # (rings, estimate bins) L1 MET tower thresholds (:mod:`l1_pum`)


@dataclass(frozen=True)
class Far:
    """A chunk's far vertices with the pool response they bring: event ``e`` owns vertices
    ``off[e]:off[e + 1]``, each with its pool event, vertex z (mm) and rotation (towers)."""

    off: np.ndarray
    pick: np.ndarray
    z: np.ndarray
    rot: np.ndarray
    response: PoolResponse

    @property
    def angle(self) -> np.ndarray:
        """Rotation of each vertex in radians."""
        return self.rot * (2.0 * np.pi / N_ROT)
