"""Charged-particle tracks from the true production vertex, in numba.

Each charged final-state particle (|eta| < 2.5, pT > 0.5 GeV) is propagated on its helix in a
3.8 T solenoid to the perigee with respect to the beam line; the perigee gives d0 (transverse
distance) and z0 (z at the perigee minus the primary vertex), so B/D/K0s/Lambda decay products
carry their real displacement. Numbers from CMS, "Description and performance of track and
primary-vertex reconstruction with the CMS tracker", JINST 9 (2014) P10009:
- efficiency (Fig. 11-12, isolated pions incl. nuclear interactions): 0.90 (|eta| < 1.5),
  0.83 beyond; x 0.92 below 1 GeV; falls linearly with the production radius to 0 at 50 cm
  (iterative steps seed up to ~60 cm);
- resolution (Figs. 14-15): sigma(d0) = 20 um (+) 90 um / pT[GeV], sigma(z0) = 30 um (+) 120 um
  / pT, both x (1 + 0.25 eta^2); sigma(pT)/pT = 0.7 % (+) 0.015 %/GeV x pT, x (1 + 0.3 eta^2);
- non-Gaussian tails: 8 % of tracks get 3x the core resolution (mis-assigned hits);
- fakes: 2 % of the track count, pT from an exponential above 0.5 GeV (mean 1 GeV), d0/z0
  Laplacian with scales 0.3 mm / 1 mm, direction near a real track (dR ~ 0.05).
"""

from __future__ import annotations

import numpy as np
from numba import njit

B_TESLA = 3.8
ETA_MAX = 2.5
PT_MIN = 0.5
R_MAX_MM = 500.0
TAIL_FRACTION = 0.08
TAIL_SCALE = 3.0
FAKE_RATE = 0.02

# columns of the output track table
K_PT, K_ETA, K_PHI, K_X, K_Y, K_Z0, K_SD0, K_SZ0, K_FAKE, K_PART = range(10)
N_K = 10


@njit(cache=True)
def sigma_d0(pt: float, eta: float) -> float:
    return np.hypot(0.020, 0.090 / pt) * (1.0 + 0.25 * eta * eta)


@njit(cache=True)
def sigma_z0(pt: float, eta: float) -> float:
    return np.hypot(0.030, 0.120 / pt) * (1.0 + 0.25 * eta * eta)


@njit(cache=True)
def efficiency(pt: float, eta: float, r_prod: float) -> float:
    eff = 0.90 if abs(eta) < 1.5 else 0.83
    if pt < 1.0:
        eff *= 0.92
    return eff * max(0.0, 1.0 - r_prod / R_MAX_MM)


@njit(cache=True)
def perigee(
    px: float, py: float, x: float, y: float, q: float
) -> tuple[float, float, float, float]:
    """(x, y) of the point of closest approach to the beam line, the signed transverse arc
    length from production to it (mm, positive along the motion) and phi there."""
    pt = np.hypot(px, py)
    radius = pt / (0.3 * B_TESLA) * 1000.0  # mm
    phi = np.arctan2(py, px)
    s = 1.0 if q > 0 else -1.0
    cx = x + s * radius * np.sin(phi)  # centre of the circle (force q v x B, B along +z)
    cy = y - s * radius * np.cos(phi)
    dc = np.hypot(cx, cy)
    fx, fy = cx * (1.0 - radius / dc), cy * (1.0 - radius / dc)
    a0 = np.arctan2(y - cy, x - cx)
    a1 = np.arctan2(fy - cy, fx - cx)
    turn = -s * (a1 - a0)  # positive charge turns clockwise
    turn = (turn + np.pi) % (2.0 * np.pi) - np.pi
    return fx, fy, radius * turn, phi - s * turn


@njit(cache=True)
def _smear(sig: float) -> float:
    if np.random.random() < TAIL_FRACTION:
        sig *= TAIL_SCALE
    return sig * np.random.normal()


@njit(cache=True)
def reconstruct(
    parts: np.ndarray, off: np.ndarray, zpv: np.ndarray, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Tracks of every event: (table (n, N_K), per-event offsets). ``parts`` columns as in
    ``record.Record.parts``; z already includes each interaction's vertex z."""
    np.random.seed(seed)
    n_ev = len(off) - 1
    out = np.empty((len(parts) + len(parts) // 10 + 16 * n_ev, N_K))
    toff = np.zeros(n_ev + 1, dtype=np.int64)
    k = 0
    for ev in range(n_ev):
        first = k
        for i in range(off[ev], off[ev + 1]):
            k = _one_track(parts, i, zpv[ev], out, k)
        n_real = k - first
        n_fake = np.random.poisson(FAKE_RATE * n_real)
        for _ in range(n_fake if n_real > 0 else 0):
            k = _fake_track(out, first + np.random.randint(n_real), out, k)
        toff[ev + 1] = k
    return out[:k], toff


@njit(cache=True)
def _one_track(parts: np.ndarray, i: int, zpv: float, out: np.ndarray, k: int) -> int:
    q = parts[i, 7]
    if q == 0.0:
        return k
    px, py, pz = parts[i, 0], parts[i, 1], parts[i, 2]
    pt = np.hypot(px, py)
    if pt < PT_MIN:
        return k
    eta = np.arcsinh(pz / pt)
    if abs(eta) > ETA_MAX:
        return k
    x, y, z = parts[i, 4], parts[i, 5], parts[i, 6]
    if np.random.random() >= efficiency(pt, eta, np.hypot(x, y)):
        return k
    fx, fy, arc, phi = perigee(px, py, x, y, q)
    sd0, sz0 = sigma_d0(pt, eta), sigma_z0(pt, eta)
    d = _smear(sd0)  # displace the perigee across the track direction
    res_pt = np.hypot(0.007, 0.00015 * pt) * (1.0 + 0.3 * eta * eta)
    out[k, K_PT] = pt * max(0.05, 1.0 + _smear(res_pt))
    out[k, K_ETA] = eta
    out[k, K_PHI] = phi
    out[k, K_X] = fx - d * np.sin(phi)
    out[k, K_Y] = fy + d * np.cos(phi)
    out[k, K_Z0] = z + arc * pz / pt - zpv + _smear(sz0)
    out[k, K_SD0] = sd0
    out[k, K_SZ0] = sz0
    out[k, K_FAKE] = 0.0
    out[k, K_PART] = i
    return k + 1


@njit(cache=True)
def _fake_track(src: np.ndarray, j: int, out: np.ndarray, k: int) -> int:
    pt = PT_MIN + np.random.exponential(1.0)
    eta = min(ETA_MAX, max(-ETA_MAX, src[j, K_ETA] + 0.05 * np.random.normal()))
    phi = src[j, K_PHI] + 0.05 * np.random.normal()
    d0 = np.random.laplace(0.0, 0.3)
    out[k, K_PT] = pt
    out[k, K_ETA] = eta
    out[k, K_PHI] = phi
    out[k, K_X] = -d0 * np.sin(phi)
    out[k, K_Y] = d0 * np.cos(phi)
    out[k, K_Z0] = np.random.laplace(0.0, 1.0)
    out[k, K_SD0] = sigma_d0(pt, eta)
    out[k, K_SZ0] = sigma_z0(pt, eta)
    out[k, K_FAKE] = 1.0
    out[k, K_PART] = -1
    return k + 1
