"""Constituents of a large-R jet (numba), drawn around its prongs.

Each particle picks a prong with probability equal to the prong's momentum share (10% are soft
wide-angle particles, flat in the R = 0.8 disc), takes a broken-stick share of the jet pT and
spreads around the prong by 0.02 + 0.12 / sqrt(pT). 35% are neutral (charge 0, d0_sig 0); charged
particles of b (c) prongs are displaced with probability 0.45 (0.25): d0_sig ~ +Exp(6) (90% with
positive lifetime sign), all others have d0_sig ~ N(0, 1) with the track tails of :mod:`tracks`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from trigkit.events.generator.constants import FATJET_R, MAXPRONG
from trigkit.events.generator.rng import exponential, normal, uniform
from trigkit.events.generator.tracks import smear

C_PT, C_DETA, C_DPHI, C_D0SIG, C_CHARGE = range(5)
N_CON_COLS = 5


@njit(cache=True)
def fatjet_constituents(
    st: np.ndarray, jet_pt: float, prongs: np.ndarray, nprong: int, ncon: int, out: np.ndarray
) -> None:
    """Fill out[:ncon, :] (float32 columns above), ordered by decreasing pT."""
    shares = np.empty(ncon)
    total = 0.0
    for i in range(ncon):
        shares[i] = exponential(st) ** 1.6
        total += shares[i]
    shares = -np.sort(-shares / total)
    for i in range(ncon):
        pt = jet_pt * shares[i]
        k = -1
        u = uniform(st)
        if u > 0.1:
            v = uniform(st)
            acc = 0.0
            for p in range(min(nprong, MAXPRONG)):
                acc += prongs[p, 2]
                if v < acc:
                    k = p
                    break
            if k < 0:
                k = 0
        if k < 0:
            r = FATJET_R * np.sqrt(uniform(st))
            a = 2.0 * np.pi * uniform(st)
            deta, dphi, strength = r * np.cos(a), r * np.sin(a), 0.0
        else:
            w = 0.02 + 0.12 / np.sqrt(max(pt, 0.1))
            deta = prongs[k, 0] + w * normal(st)
            dphi = prongs[k, 1] + w * normal(st)
            strength = prongs[k, 3]
        charge = 0.0
        d0sig = 0.0
        if uniform(st) > 0.35:
            charge = 1.0 if uniform(st) < 0.5 else -1.0
            if uniform(st) < 0.45 * strength:
                d0sig = 6.0 * exponential(st) * (1.0 if uniform(st) < 0.9 else -1.0) + normal(st)
            else:
                d0sig = smear(st)
        out[i, C_PT], out[i, C_DETA], out[i, C_DPHI] = pt, deta, dphi
        out[i, C_D0SIG], out[i, C_CHARGE] = d0sig, charge
