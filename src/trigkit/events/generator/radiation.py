"""Initial- and final-state radiation (numba).

ISR: a Poisson number of resolvable emissions whose mean grows with log(Q / pT_min), each with
a 1/pT^2 spectrum up to Q/2 and a wide rapidity spread; the hard system recoils against their sum
plus a soft unclustered kick. FSR: each hard parton may emit one gluon at Delta R > R_jet that
carries a fraction z of its momentum (the parent is softened accordingly).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from trigkit.events.generator.constants import JET_PT_MIN, MAXP
from trigkit.events.generator.kinematics import to_cartesian, to_ptetaphim
from trigkit.events.generator.partons import add_parton
from trigkit.events.generator.rng import exponential, normal, uniform

ISR_ALPHA = 0.32  # mean resolvable ISR emissions per unit log(Q / pT_min) (gg initial state)
SOFT_KICK = 6.0  # GeV, Gaussian width of unclustered recoil per transverse component
FSR_PROB = 0.22  # probability that a parton above 40 GeV radiates a separate jet
G_TO_BB = 0.012  # g -> b b-bar splitting probability per gluon jet (grows with pT)
G_TO_CC = 0.04


@njit(cache=True)
def isr(
    st: np.ndarray, q: float, strength: float, part: np.ndarray, pid: np.ndarray, n: int
) -> tuple[int, float, float]:
    """Add ISR partons; return (count, recoil px, recoil py) for the hard system."""
    lam = strength * ISR_ALPHA * np.log(max(q, 2.0 * JET_PT_MIN) / JET_PT_MIN)
    k = 0
    limit = np.exp(-lam)
    p = uniform(st)
    while p > limit and k < 6:
        k += 1
        p *= uniform(st)
    sx = SOFT_KICK * normal(st)
    sy = SOFT_KICK * normal(st)
    pt_max = max(0.5 * q, 2.0 * JET_PT_MIN)
    for _ in range(k):
        u = uniform(st)
        pt = JET_PT_MIN / (1.0 - u * (1.0 - JET_PT_MIN / pt_max)) * (0.75 + 0.25 * uniform(st))
        eta = 2.2 * normal(st)
        phi = 2.0 * np.pi * uniform(st) - np.pi
        flav = 21 if uniform(st) < 0.75 else (1 + int(3.0 * uniform(st)))
        p4 = to_cartesian(pt, eta, phi, 0.0)
        sx += p4[0]
        sy += p4[1]
        n = add_parton(part, pid, n, p4, flav)
    return n, -sx, -sy


@njit(cache=True)
def fsr(st: np.ndarray, part: np.ndarray, pid: np.ndarray, n: int, first: int, last: int) -> int:
    """Let partons first..last-1 radiate one hard gluon each with probability FSR_PROB."""
    for i in range(first, last):
        pt, eta, phi, m = to_ptetaphim(part[i, 0], part[i, 1], part[i, 2], part[i, 3])
        if pt < 40.0 or n >= MAXP or uniform(st) > FSR_PROB * (1.3 if pid[i] == 21 else 1.0):
            continue
        z = 0.08 + 0.3 * uniform(st) ** 2
        dr = 0.45 + 0.6 * exponential(st) * 0.5
        ang = 2.0 * np.pi * uniform(st)
        g = to_cartesian(z * pt, eta + dr * np.cos(ang), phi + dr * np.sin(ang), 0.0)
        p = to_cartesian((1.0 - z) * pt, eta, phi, m)
        part[i, 0], part[i, 1], part[i, 2], part[i, 3] = p
        n = add_parton(part, pid, n, g, 21)
    return n


@njit(cache=True)
def gluon_splitting(st: np.ndarray, pid: np.ndarray, gsplit: np.ndarray, n: int) -> None:
    """Mark gluons that split to heavy quarks (their jets get hadron flavour 5 or 4)."""
    for i in range(n):
        if pid[i] != 21:
            continue
        u = uniform(st)
        if u < G_TO_BB:
            gsplit[i] = 5
        elif u < G_TO_BB + G_TO_CC:
            gsplit[i] = 4
