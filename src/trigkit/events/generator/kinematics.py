"""Small four-vector kernels (numba): conversions, boosts and isotropic two-body decays.

Four-vectors are ``(px, py, pz, E)`` tuples of float64; massless partons keep a tiny mass.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from trigkit.events.generator.rng import uniform

TWO_PI = 2.0 * np.pi


@njit(cache=True)
def wrap_phi(phi: float) -> float:
    """Map an angle to [-pi, pi)."""
    return (phi + np.pi) % TWO_PI - np.pi


@njit(cache=True)
def delta_r(eta1: float, phi1: float, eta2: float, phi2: float) -> float:
    dphi = wrap_phi(phi1 - phi2)
    deta = eta1 - eta2
    return np.sqrt(deta * deta + dphi * dphi)


@njit(cache=True)
def to_cartesian(pt: float, eta: float, phi: float, m: float) -> tuple[float, float, float, float]:
    px = pt * np.cos(phi)
    py = pt * np.sin(phi)
    pz = pt * np.sinh(eta)
    e = np.sqrt(px * px + py * py + pz * pz + m * m)
    return px, py, pz, e


@njit(cache=True)
def to_ptetaphim(px: float, py: float, pz: float, e: float) -> tuple[float, float, float, float]:
    pt = np.sqrt(px * px + py * py)
    pt_safe = max(pt, 1e-9)
    eta = np.arcsinh(pz / pt_safe)
    phi = np.arctan2(py, px)
    m2 = e * e - px * px - py * py - pz * pz
    m = np.sqrt(m2) if m2 > 0.0 else 0.0
    return pt, eta, phi, m


@njit(cache=True)
def from_mass_pt_y_phi(
    m: float, pt: float, y: float, phi: float
) -> tuple[float, float, float, float]:
    """Four-vector of a system with mass, transverse momentum, rapidity and azimuth."""
    mt = np.sqrt(m * m + pt * pt)
    return pt * np.cos(phi), pt * np.sin(phi), mt * np.sinh(y), mt * np.cosh(y)


@njit(cache=True)
def boost(
    px: float, py: float, pz: float, e: float, bx: float, by: float, bz: float
) -> tuple[float, float, float, float]:
    """Lorentz boost of (px,py,pz,E) by velocity (bx,by,bz)."""
    b2 = bx * bx + by * by + bz * bz
    if b2 < 1e-18:
        return px, py, pz, e
    gamma = 1.0 / np.sqrt(1.0 - b2)
    bp = bx * px + by * py + bz * pz
    g2 = (gamma - 1.0) / b2
    return (
        px + g2 * bp * bx + gamma * bx * e,
        py + g2 * bp * by + gamma * by * e,
        pz + g2 * bp * bz + gamma * bz * e,
        gamma * (e + bp),
    )


@njit(cache=True)
def breakup_momentum(m: float, m1: float, m2: float) -> float:
    """Momentum of the daughters of m -> m1 m2 in the rest frame of m."""
    s = (m * m - (m1 + m2) ** 2) * (m * m - (m1 - m2) ** 2)
    return np.sqrt(s) / (2.0 * m) if s > 0.0 else 0.0


@njit(cache=True)
def decay_two_body(
    st: np.ndarray,
    parent: tuple[float, float, float, float],
    m1: float,
    m2: float,
    cos_theta: float,
) -> tuple[tuple[float, float, float, float], tuple[float, float, float, float]]:
    """Decay ``parent`` (lab four-vector) to m1 m2; isotropic if cos_theta is outside [-1, 1].

    The angle is drawn in the parent's rest frame; both daughters are returned in the lab.
    """
    px, py, pz, e = parent
    m2p = e * e - px * px - py * py - pz * pz
    m = np.sqrt(m2p) if m2p > 0.0 else m1 + m2
    p = breakup_momentum(m, m1, m2)
    ct = cos_theta if -1.0 <= cos_theta <= 1.0 else 2.0 * uniform(st) - 1.0
    stheta = np.sqrt(max(0.0, 1.0 - ct * ct))
    ph = TWO_PI * uniform(st)
    qx, qy, qz = p * stheta * np.cos(ph), p * stheta * np.sin(ph), p * ct
    e1 = np.sqrt(p * p + m1 * m1)
    e2 = np.sqrt(p * p + m2 * m2)
    bx, by, bz = px / e, py / e, pz / e
    d1 = boost(qx, qy, qz, e1, bx, by, bz)
    d2 = boost(-qx, -qy, -qz, e2, bx, by, bz)
    return d1, d2
