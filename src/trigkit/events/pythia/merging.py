"""Merged tracks in dense jet cores, in numba.

Two tracks whose hits on the first pixel barrel layer (r = 44 mm) lie closer than the pixel
two-hit resolution, in r-phi and in z at once, leave one merged cluster there, and the pattern
recognition finds one track instead of two (CMS JINST 9 (2014) P10009, Sec. 4.2 on merged
clusters in the cores of high-pT jets). The CMS barrel pixel is 100 um (r-phi) x 150 um (z);
two clusters are resolved when at least one pixel row lies between them, so hits closer than
two pitches (``SEP_RPHI_MM``, ``SEP_Z_MM``) merge. The harder track survives; its first hit
moves to the charge-weighted centroid, half-way to the other hit, which shifts its perigee
by that offset times the lever arm of the first two layers, r2 / (r2 - r1).

Only tracks produced inside the first layer have a hit there; fakes have none.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from trigkit.events.pythia.trackcols import (
    FAKE,
    K_ETA,
    K_ORIGIN,
    K_PHI,
    K_PT,
    K_Q,
    K_RPROD,
    K_X,
    K_Y,
    K_Z0,
)

B_TESLA = 3.8
R1_MM, R2_MM = 44.0, 73.0
SEP_RPHI_MM = 0.200
SEP_Z_MM = 0.300
LEVER = R2_MM / (R2_MM - R1_MM)


@njit(cache=True)
def hit_on_layer(pt: float, phi: float, q: float, eta: float, z0: float, r: float):  # noqa: ANN201
    """(azimuth, z) of a track from the beam line at radius r: the chord of its circle turns
    by asin(r / 2R) (positive charges clockwise, as in :func:`tracking.perigee`)."""
    radius = pt / (0.3 * B_TESLA) * 1000.0
    half = np.arcsin(min(1.0, r / (2.0 * radius)))
    az = phi - (1.0 if q > 0 else -1.0) * half
    return az, z0 + 2.0 * radius * half * np.sinh(eta)


@njit(cache=True)
def merge_tracks(trk: np.ndarray, toff: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(kept tracks, new per-event offsets, merged pairs per event); the kept tracks' perigees
    in ``trk`` are updated in place."""
    n_ev = len(toff) - 1
    keep = np.ones(len(trk), dtype=np.bool_)
    merged = np.zeros(n_ev, dtype=np.int64)
    for ev in range(n_ev):
        merged[ev] = _merge_event(trk, toff[ev], toff[ev + 1], keep)
    new_off = np.zeros(n_ev + 1, dtype=np.int64)
    for ev in range(n_ev):
        new_off[ev + 1] = new_off[ev] + keep[toff[ev] : toff[ev + 1]].sum()
    return trk[keep], new_off, merged


@njit(cache=True)
def _merge_event(trk: np.ndarray, lo: int, hi: int, keep: np.ndarray) -> int:
    rows = []
    for t in range(lo, hi):
        if trk[t, K_ORIGIN] != FAKE and trk[t, K_RPROD] < R1_MM:
            rows.append(t)
    n = len(rows)
    az, zz = np.empty(n), np.empty(n)
    for i in range(n):
        t = rows[i]
        az[i], zz[i] = hit_on_layer(
            trk[t, K_PT], trk[t, K_PHI], trk[t, K_Q], trk[t, K_ETA], trk[t, K_Z0], R1_MM
        )
    order = np.argsort(az)
    count = 0
    for a in range(n):
        i = order[a]
        for step in range(1, n):
            b = a + step
            j = order[b % n]
            d_az = az[j] - az[i] + (2.0 * np.pi if b >= n else 0.0)
            if d_az * R1_MM >= SEP_RPHI_MM:
                break
            ti, tj = rows[i], rows[j]
            if not (keep[ti] and keep[tj]) or abs(zz[j] - zz[i]) >= SEP_Z_MM:
                continue
            _merge_pair(trk, ti, tj, d_az * R1_MM, zz[j] - zz[i], keep)
            count += 1
    return count


@njit(cache=True)
def _merge_pair(
    trk: np.ndarray, ti: int, tj: int, d_rphi: float, d_z: float, keep: np.ndarray
) -> None:
    """Keep the harder of tracks ti, tj; shift its perigee towards the cluster centroid
    (d_rphi, d_z: hit of tj minus hit of ti)."""
    if trk[tj, K_PT] > trk[ti, K_PT]:
        ti, tj, d_rphi, d_z = tj, ti, -d_rphi, -d_z
    keep[tj] = False
    shift = 0.5 * d_rphi * LEVER
    phi = trk[ti, K_PHI]
    trk[ti, K_X] -= shift * np.sin(phi)
    trk[ti, K_Y] += shift * np.cos(phi)
    trk[ti, K_Z0] += 0.5 * d_z * LEVER
