"""t t-bar -> (b q q-bar') (b-bar q q-bar'), all-hadronic (numba).

m(tt) = 2 mt + Gamma(k=1.8, theta=110 GeV) (peak ~ 430 GeV); tops and Ws get Breit-Wigner
masses; W -> u d-bar or c s-bar with equal probability (c jets come from here).
Cross-section: 923.6 pb (13.6 TeV NNLO+NNLL, mt = 172.5) x BR(W->qq')^2 = 0.6741^2.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from trigkit.events.generator.constants import GAMMA_TOP, GAMMA_W, M_B, M_C, M_TOP, M_W
from trigkit.events.generator.kinematics import decay_two_body, from_mass_pt_y_phi
from trigkit.events.generator.partons import add_parton
from trigkit.events.generator.radiation import isr
from trigkit.events.generator.rng import gamma, normal, uniform

SIGMA_PB = 923.6 * 0.6741**2  # 419.7 pb


@njit(cache=True)
def breit_wigner(st: np.ndarray, m: float, width: float, lo: float, hi: float) -> float:
    for _ in range(100):
        x = m + 0.5 * width * np.tan(np.pi * (uniform(st) - 0.5))
        if lo < x < hi:
            return x
    return m


@njit(cache=True)
def ttbar_event(
    st: np.ndarray,
    part: np.ndarray,
    pid: np.ndarray,
    res: np.ndarray,
    rtype: np.ndarray,
    rdau: np.ndarray,
    rnd: np.ndarray,
) -> tuple[int, int, int]:
    """Fill 6 decay partons then ISR; resonances: t1, t2, W1, W2."""
    mtt = 2.0 * M_TOP + 110.0 * gamma(st, 1.8)
    n, rx, ry = isr(st, mtt, 1.0, part, pid, 6)
    sys = from_mass_pt_y_phi(mtt, np.sqrt(rx * rx + ry * ry), 1.0 * normal(st), np.arctan2(ry, rx))
    m1 = breit_wigner(st, M_TOP, GAMMA_TOP, M_W + M_B + 1.0, 0.5 * mtt - 0.1)
    m2 = breit_wigner(st, M_TOP, GAMMA_TOP, M_W + M_B + 1.0, mtt - m1 - 0.1)
    t1, t2 = decay_two_body(st, sys, m1, m2, 2.0)
    for r, t in enumerate((t1, t2)):
        mw = breit_wigner(st, M_W, GAMMA_W, 10.0, (m1 if r == 0 else m2) - M_B - 0.1)
        w, b = decay_two_body(st, t, mw, M_B, 2.0)
        charm = uniform(st) < 0.5
        q1, q2 = decay_two_body(st, w, M_C if charm else 0.0, 0.0, 2.0)
        base = 3 * r
        add_parton(part, pid, base, b, 5)
        add_parton(part, pid, base + 1, q1, 4 if charm else 2)
        add_parton(part, pid, base + 2, q2, 3 if charm else 1)
        res[r, 0], res[r, 1], res[r, 2], res[r, 3] = t
        rtype[r] = 6
        rdau[r, 0], rdau[r, 1], rdau[r, 2] = base, base + 1, base + 2
        rnd[r] = 3
        res[2 + r, 0], res[2 + r, 1], res[2 + r, 2], res[2 + r, 3] = w
        rtype[2 + r] = 24
        rdau[2 + r, 0], rdau[2 + r, 1] = base + 1, base + 2
        rnd[2 + r] = 2
    return n, 4, 6
