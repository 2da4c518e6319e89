"""Far pileup vertices: the pool-event responses (computed once, :mod:`pool_response`) and
which of them a chunk's events get, where, and rotated how (plain arrays for the kernels)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NEAR_DZ_MM = 10.0  # >> jet-track |z0| < 3 mm (+ resolution tails) and the 1 mm CHS window
N_ROT = 72  # rotations are whole towers: 2 pi / 72 (offline and L1 towers both have 72 in phi)


@dataclass(frozen=True)
class Deposits:
    """Sparse tower deposits per pool event: ``bins`` (ie x 72 + ip) and ``val``; pool event
    ``e`` owns rows ``off[e]:off[e + 1]``."""

    bins: np.ndarray
    val: np.ndarray
    off: np.ndarray


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
