"""Tracker material, in numba: photon conversions and nuclear interactions of hadrons.

The material map is a set of thin cylinders around the beam line, the Run-1 CMS tracker of
"Description and performance of track and primary-vertex reconstruction with the CMS tracker",
JINST 9 (2014) P10009 (and the tracker TDR, CERN/LHCC 98-6): the beryllium beam pipe
(r = 22.5 mm, 0.8 mm Be: 0.0023 X0), three pixel barrel layers (44, 73, 102 mm) and the four
TIB layers (255-498 mm), each with its share of sensors, electronics, cooling and supports, so
that the total is 0.22 X0 at eta = 0 inside r = 50 cm and about 0.4 X0 with the outer barrel
(the paper's Fig. 1 reads 0.4 X0 at eta = 0). A particle crossing a layer at polar angle theta
sees t / sin(theta) = t cosh(eta), capped at ``PATH_CAP`` (beyond |eta| ~ 1.6 it crosses the
endcap disks, which it meets closer to face-on: the cap stands in for those).

- Conversions: a photon converts in a layer with probability 1 - exp(-7/9 X/X0) (the
  high-energy pair-production length 9/7 X0, PDG review "Passage of particles through
  matter", Eq. 34.31); the e+ e- pair shares its energy as x, 1 - x with the Bethe-Heitler
  high-energy density 1 - 4/3 x (1 - x) and keeps the photon's direction.
- Nuclear interactions: a hadron interacts in a layer with probability 1 - exp(-lambda /
  lambda_I), lambda / lambda_I = ``LAMBDA_PER_X0`` x X/X0 (the same paper's Fig. 1 shows
  ~0.1 lambda_I for 0.4 X0 at eta = 0); it gives ``1 + Poisson(NUCL_EXTRA)`` charged
  secondaries sharing a fraction U(0.3, 0.8) of its momentum, each kicked by a transverse
  momentum ~ N(0, 0.3 GeV) per axis, produced at the interaction point (displaced
  secondaries). A charged hadron interacting before ``R_LOST_MM`` (fewer than ~5 hits) loses
  its own track.

Only the material inside the tracking volume used here (r < 500 mm, where track finding ends)
is walked.
"""

from __future__ import annotations

import numpy as np
from numba import njit

LAYER_R_MM = np.array([22.5, 44.0, 73.0, 102.0, 255.0, 339.0, 418.0, 498.0])
LAYER_X0 = np.array([0.0023, 0.025, 0.025, 0.025, 0.035, 0.035, 0.035, 0.035])
PIXEL_R_MM = np.array([44.0, 73.0, 102.0])
CONVERSION_PER_X0 = 7.0 / 9.0
LAMBDA_PER_X0 = 0.25
PATH_CAP = 2.5
PHOTON_PT_MIN = 1.0
R_LOST_MM = 300.0
NUCL_EXTRA = 1.5
NUCL_KICK_GEV = 0.3


@njit(cache=True)
def path_factor(eta: float) -> float:
    """Path length through a thin cylinder per unit thickness: cosh(eta), capped."""
    return min(np.cosh(eta), PATH_CAP)


@njit(cache=True)
def reach(x: float, y: float, ux: float, uy: float, r: float) -> float:
    """Transverse distance s >= 0 along the unit direction (ux, uy) from (x, y) to the cylinder
    of radius r (the outgoing crossing; -1 when (x, y) lies outside it)."""
    b = x * ux + y * uy
    c = x * x + y * y - r * r
    if c > 0.0:
        return -1.0
    return -b + np.sqrt(b * b - c)


@njit(cache=True)
def first_interaction(r_prod: float, eta: float, per_x0: float) -> int:
    """Index of the first layer beyond ``r_prod`` where an interaction of probability
    1 - exp(-per_x0 x X/X0 x path) happens, or -1."""
    f = path_factor(eta)
    for li in range(len(LAYER_R_MM)):
        if LAYER_R_MM[li] <= r_prod:
            continue
        if np.random.random() < 1.0 - np.exp(-per_x0 * LAYER_X0[li] * f):
            return li
    return -1


@njit(cache=True)
def crossing_point(p: np.ndarray, r: float) -> tuple[float, float, float]:
    """(x, y, z) where a straight line from p[4:7] along p[0:3] reaches radius r."""
    pt = np.hypot(p[0], p[1])
    s = reach(p[4], p[5], p[0] / pt, p[1] / pt, r)
    s = max(s, 0.0)
    return p[4] + s * p[0] / pt, p[5] + s * p[1] / pt, p[6] + s * p[2] / pt


@njit(cache=True)
def bethe_heitler_x() -> float:
    """Energy fraction of the electron: density 1 - 4/3 x (1 - x) on [0, 1] (rejection)."""
    while True:
        x = np.random.random()
        if np.random.random() < 1.0 - 4.0 / 3.0 * x * (1.0 - x):
            return x


@njit(cache=True)
def conversion_pair(p: np.ndarray, r: float, out: np.ndarray) -> None:
    """The e- and e+ of photon row ``p`` converting at radius r: rows of ``out`` (2, 8) as
    px py pz e x y z charge."""
    x, y, z = crossing_point(p, r)
    frac = bethe_heitler_x()
    for n in range(2):
        f, q = (frac, -1.0) if n == 0 else (1.0 - frac, 1.0)
        out[n, 0], out[n, 1], out[n, 2], out[n, 3] = f * p[0], f * p[1], f * p[2], f * p[3]
        out[n, 4], out[n, 5], out[n, 6], out[n, 7] = x, y, z, q


@njit(cache=True)
def nuclear_secondaries(p: np.ndarray, r: float, out: np.ndarray) -> int:
    """Charged secondaries of hadron row ``p`` interacting at radius r into ``out`` (m, 8), as
    px py pz e x y z charge (pion mass); returns how many (at most len(out))."""
    x, y, z = crossing_point(p, r)
    n = min(len(out), 1 + np.random.poisson(NUCL_EXTRA))
    share = np.random.uniform(0.3, 0.8)
    w = np.random.exponential(1.0, n)
    w *= share / w.sum()
    pmag = np.sqrt(p[0] ** 2 + p[1] ** 2 + p[2] ** 2)
    u = p[:3] / pmag
    a = np.array([-u[1], u[0], 0.0]) if abs(u[2]) < 0.9 else np.array([0.0, -u[2], u[1]])
    a /= np.sqrt((a * a).sum())
    b = np.cross(u, a)
    for i in range(n):
        k1, k2 = NUCL_KICK_GEV * np.random.normal(), NUCL_KICK_GEV * np.random.normal()
        q = w[i] * pmag * u + k1 * a + k2 * b
        out[i, 0], out[i, 1], out[i, 2] = q[0], q[1], q[2]
        out[i, 3] = np.sqrt((q * q).sum() + 0.1396**2)
        out[i, 4], out[i, 5], out[i, 6] = x, y, z
        out[i, 7] = 1.0 if np.random.random() < 0.5 else -1.0
    return n


@njit(cache=True)
def is_hadron(pid: float) -> bool:
    a = abs(pid)
    return a > 100.0


@njit(cache=True)
def pixel_hits(r_prod: float) -> int:
    """Pixel barrel layers a track produced at transverse radius r_prod can cross."""
    n = 0
    for r in PIXEL_R_MM:
        n += r > r_prod
    return n


def total_x0(eta: float, r_max: float = 500.0) -> float:
    """X/X0 crossed from the beam line out to r_max at pseudorapidity eta (float64, no JIT):
    the map's own budget, for tests and the validate table."""
    sel = LAYER_R_MM < r_max
    return float(LAYER_X0[sel].sum() * min(np.cosh(eta), PATH_CAP))


@njit(cache=True)
def seed_rng(seed: int) -> None:
    """Seed numba's random stream (the kernels above draw from it)."""
    np.random.seed(seed)
