"""QCD 2 -> 2 multijet (numba kernel + cross-section table).

pT-hat is generated in strata (the bins of the CMS ``QCD_Pt_X_to_Y`` Pythia 8 samples); event i
belongs to stratum ``i % K`` and carries weight sigma_k x lumi / n_k, so sum(w) = sigma x lumi
exactly and every chunk spans the whole spectrum. Within a stratum pT-hat follows a local power
law fitted to the neighbouring bins. Cross-sections: approximate LO Pythia 8 (CP5 tune, 13 TeV)
values of those samples, in pb; the total above 15 GeV is ~1.37e9 pb (~1.4 mb).

Flavour: subprocess fractions gg->gg, qg->qg, qq->qq, gg->qq-bar drift with pT-hat (quark
channels grow as x increases); quark flavours u,d,s,c,b from a PDF-like mix; gluons may split to
b b-bar / c c-bar (see radiation.G_TO_BB), giving b-hadron jets with parton flavour 21.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from trigkit.events.generator.constants import M_B, M_C, T_PTHAT
from trigkit.events.generator.kinematics import to_cartesian
from trigkit.events.generator.partons import add_parton
from trigkit.events.generator.radiation import isr
from trigkit.events.generator.rng import normal, uniform

PTHAT_EDGES = np.array(
    [
        15.0,
        30.0,
        50.0,
        80.0,
        120.0,
        170.0,
        300.0,
        470.0,
        600.0,
        800.0,
        1000.0,
        1400.0,
        1800.0,
        2400.0,
        3200.0,
        4500.0,
    ]
)
PTHAT_SIGMA_PB = np.array(
    [
        1.246e9,
        1.066e8,
        1.57e7,
        2.34e6,
        4.07e5,
        1.04e5,
        6.83e3,
        5.52e2,
        1.56e2,
        2.6e1,
        7.47,
        6.48e-1,
        8.74e-2,
        5.22e-3,
        1.35e-4,
    ]
)
# quark flavour mix in qg / qq channels (d, u, s, c, b)
QUARK_CUMULATIVE = np.cumsum(np.array([0.30, 0.47, 0.12, 0.085, 0.025]))
QUARK_IDS = np.array([1, 2, 3, 4, 5])


def stratum_slopes(
    edges: np.ndarray = PTHAT_EDGES, sigma: np.ndarray = PTHAT_SIGMA_PB
) -> np.ndarray:
    """Local power-law index n (dsigma/dpT ~ pT^-n) per stratum from neighbouring bin densities."""
    density = sigma / np.diff(edges)
    mid = np.sqrt(edges[:-1] * edges[1:])
    slopes = -np.diff(np.log(density)) / np.diff(np.log(mid))
    return np.append(slopes, slopes[-1])


@njit(cache=True)
def sample_power_law(st: np.ndarray, lo: float, hi: float, n: float) -> float:
    a = 1.0 - n
    u = uniform(st)
    if abs(a) < 1e-9:
        return lo * (hi / lo) ** u
    return (lo**a + u * (hi**a - lo**a)) ** (1.0 / a)


@njit(cache=True)
def _quark(st: np.ndarray, x: float) -> int:
    """Quark id: valence u/d take over at high x, otherwise the sea-inclusive mix above."""
    if uniform(st) < 0.3 * x:
        return 2 if uniform(st) < 2.0 / 3.0 else 1
    u = uniform(st)
    for i in range(QUARK_CUMULATIVE.shape[0]):
        if u < QUARK_CUMULATIVE[i]:
            return QUARK_IDS[i]
    return 1


@njit(cache=True)
def flavours(st: np.ndarray, pthat: float) -> tuple[int, int]:
    """Outgoing parton ids for one 2 -> 2 scattering."""
    x = min(1.0, np.log(pthat / 15.0) / np.log(200.0))
    f_gg = 0.55 - 0.35 * x
    f_qg = 0.33 + 0.07 * x
    f_qq = 0.08 + 0.28 * x
    u = uniform(st)
    if u < f_gg:
        return 21, 21
    if u < f_gg + f_qg:
        return (_quark(st, x), 21) if uniform(st) < 0.5 else (21, _quark(st, x))
    if u < f_gg + f_qg + f_qq:
        return _quark(st, x), _quark(st, x)
    q = 1 + int(5.0 * uniform(st))  # gg -> q q-bar, flavour creation incl. b b-bar
    return q, q


@njit(cache=True)
def qcd_event(
    st: np.ndarray,
    lo: float,
    hi: float,
    slope: float,
    part: np.ndarray,
    pid: np.ndarray,
    truth: np.ndarray,
) -> tuple[int, int, int]:
    """Fill two hard partons then ISR; return (n partons, 0 resonances, 2 hard partons)."""
    pthat = sample_power_law(st, lo, hi, slope)
    chi = 1.0 + 29.0 * uniform(st)  # Rutherford-like: dsigma/dchi ~ flat, chi = exp(2 y*)
    ystar = 0.5 * np.log(chi)
    yboost = max(0.35, 1.2 - 0.22 * np.log(pthat / 30.0)) * normal(st)
    n, rx, ry = isr(st, pthat * np.cosh(ystar), 1.0, part, pid, 2)
    phi = 2.0 * np.pi * uniform(st) - np.pi
    f1, f2 = flavours(st, pthat)
    for k, (y, ph, f) in enumerate(((yboost + ystar, phi, f1), (yboost - ystar, phi + np.pi, f2))):
        m = M_B if f == 5 else M_C if f == 4 else 0.0
        px, py, pz, e = to_cartesian(pthat, y, ph, m)
        p4 = (px + 0.5 * rx, py + 0.5 * ry, pz, 0.0)
        e = np.sqrt(p4[0] ** 2 + p4[1] ** 2 + pz * pz + m * m)
        add_parton(part, pid, k, (p4[0], p4[1], pz, e), f)
    truth[T_PTHAT] = pthat
    return n, 0, 2
