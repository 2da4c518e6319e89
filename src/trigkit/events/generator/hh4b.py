"""gg -> HH -> b b-bar b b-bar (numba).

mHH: threshold at 2 mH = 250.4 GeV, SM-like shape peaking near 400 GeV with a long tail
(250.4 + Gamma(k=2.6, theta=90 GeV): mode 394 GeV, median ~450 GeV). The HH system gets its
transverse momentum from ISR recoil, a rapidity ~ N(0, 1.3), an isotropic production angle
(spin-0 dominated) and each H decays isotropically in its rest frame to b b-bar.
Cross-section: sigma(gg->HH, 13.6 TeV, NNLO FTapprox) = 34.43 fb x BR(H->bb)^2 (0.5824^2).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from trigkit.events.generator.constants import M_B, M_H, T_H1PT, T_H2PT, T_MHH
from trigkit.events.generator.kinematics import decay_two_body, from_mass_pt_y_phi
from trigkit.events.generator.partons import add_parton
from trigkit.events.generator.radiation import isr
from trigkit.events.generator.rng import gamma, normal

SIGMA_PB = 34.43e-3 * 0.5824**2  # 11.68 fb
MHH_SHAPE = 2.6
MHH_SCALE = 90.0


@njit(cache=True)
def sample_mhh(st: np.ndarray) -> float:
    return 2.0 * M_H + MHH_SCALE * gamma(st, MHH_SHAPE)


@njit(cache=True)
def hh4b_event(
    st: np.ndarray,
    part: np.ndarray,
    pid: np.ndarray,
    res: np.ndarray,
    rtype: np.ndarray,
    rdau: np.ndarray,
    rnd: np.ndarray,
    truth: np.ndarray,
) -> tuple[int, int, int]:
    """Fill partons (4 b quarks then ISR); return (n partons, n resonances, n hard partons)."""
    mhh = sample_mhh(st)
    n, rx, ry = isr(st, mhh, 1.0, part, pid, 4)  # slots 0..3 reserved for the b quarks
    pt_hh = np.sqrt(rx * rx + ry * ry)
    y_hh = 1.3 * normal(st)
    sys = from_mass_pt_y_phi(mhh, pt_hh, y_hh, np.arctan2(ry, rx))
    h1, h2 = decay_two_body(st, sys, M_H, M_H, 2.0)
    for r, h in enumerate((h1, h2)):
        res[r, 0], res[r, 1], res[r, 2], res[r, 3] = h
        rtype[r] = 25
        b1, b2 = decay_two_body(st, h, M_B, M_B, 2.0)
        add_parton(part, pid, 2 * r, b1, 5)
        add_parton(part, pid, 2 * r + 1, b2, 5)
        rdau[r, 0] = 2 * r
        rdau[r, 1] = 2 * r + 1
        rnd[r] = 2
    pt1 = np.sqrt(h1[0] ** 2 + h1[1] ** 2)
    pt2 = np.sqrt(h2[0] ** 2 + h2[1] ** 2)
    truth[T_MHH] = mhh
    truth[T_H1PT] = max(pt1, pt2)
    truth[T_H2PT] = min(pt1, pt2)
    return n, 2, 4
