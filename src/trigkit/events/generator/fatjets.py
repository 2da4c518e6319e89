"""Large-R (R = 0.8) jets (numba): merged resonances and single-parton jets.

A resonance (H, top, W) whose decay partons are pairwise closer than Delta R = 0.8 (anti-kT
merges them; for H -> bb, Delta R(b, b) ~ 2 mH / pT, so from pT(H) ~ 250-300 GeV) becomes one
large-R jet with a soft-drop mass near the resonance mass (response N(0.97, 0.08); 15% lose mass
to out-of-cone FSR / neutrinos) and a low N-subjettiness ratio tau21 ~ Beta(3, 5.5) for two
prongs. Label 1 = H -> bb.
Any other parton above threshold gives a one-prong QCD-like jet: soft-drop mass falling
(20% groomed below 10 GeV, otherwise pT x R x 0.11 x Gamma(1.6)), tau21 ~ Beta(6, 3.5).
Each jet keeps a prong table (position relative to the axis, momentum share, b/c content)
from which :mod:`constituents` draws its particles.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from trigkit.events.generator.constants import (
    FATJET_ETA_MAX,
    FATJET_PT_MIN,
    FATJET_R,
    FF_ETA,
    FF_MASS,
    FF_MSD,
    FF_PHI,
    FF_PT,
    FF_TAU21,
    FI_LABEL,
    FI_NCON,
    FI_NPRONG,
    M_H,
    M_TOP,
    M_W,
    MAXCON,
    MAXF,
    MAXP,
    MAXPRONG,
)
from trigkit.events.generator.kinematics import delta_r, to_ptetaphim, wrap_phi
from trigkit.events.generator.rng import beta, exponential, gamma, normal, poisson, uniform


@njit(cache=True)
def _flavour_strength(pid: int, gsplit: int) -> float:
    """1 for b, 0.5 for c, 0 otherwise: how displaced the prong's charged particles are."""
    if pid == 5 or gsplit == 5:
        return 1.0
    if pid == 4 or gsplit == 4:
        return 0.5
    return 0.0


@njit(cache=True)
def _store(
    st: np.ndarray,
    ff: np.ndarray,
    fi: np.ndarray,
    fp: np.ndarray,
    k: int,
    p4: np.ndarray,
    msd: float,
    tau21: float,
    label: int,
    ncon_mean: float,
) -> bool:
    pt0, eta0, phi0, _ = to_ptetaphim(p4[0], p4[1], p4[2], p4[3])
    pt = pt0 * (0.98 + np.sqrt(0.05**2 + 1.0 / pt0) * normal(st))
    eta = eta0 + 0.01 * normal(st)
    if pt < FATJET_PT_MIN or abs(eta) > FATJET_ETA_MAX or k >= MAXF:
        return False
    ff[k, FF_PT], ff[k, FF_ETA], ff[k, FF_PHI] = pt, eta, wrap_phi(phi0 + 0.01 * normal(st))
    ff[k, FF_MSD] = msd
    ff[k, FF_MASS] = np.sqrt(msd * msd + (pt * 0.05 * (1.0 + exponential(st))) ** 2)
    ff[k, FF_TAU21] = tau21
    fi[k, FI_LABEL] = label
    fi[k, FI_NCON] = min(
        MAXCON, 4 + poisson(st, ncon_mean * (1.0 + 0.35 * np.log(pt / FATJET_PT_MIN)))
    )
    return True


@njit(cache=True)
def _prongs_from(
    part: np.ndarray,
    pid: np.ndarray,
    gsplit: np.ndarray,
    idx: np.ndarray,
    nd: int,
    axis: np.ndarray,
    fp: np.ndarray,
    k: int,
) -> None:
    _, ea, pa, _ = to_ptetaphim(axis[0], axis[1], axis[2], axis[3])
    total = 0.0
    for d in range(nd):
        total += np.sqrt(part[idx[d], 0] ** 2 + part[idx[d], 1] ** 2)
    for d in range(min(nd, MAXPRONG)):
        i = idx[d]
        pt, eta, phi, _ = to_ptetaphim(part[i, 0], part[i, 1], part[i, 2], part[i, 3])
        fp[k, d, 0], fp[k, d, 1] = eta - ea, wrap_phi(phi - pa)
        fp[k, d, 2] = pt / total
        fp[k, d, 3] = _flavour_strength(pid[i], gsplit[i])


@njit(cache=True)
def _is_merged(
    part: np.ndarray, res: np.ndarray, r: int, rdau: np.ndarray, nd: int, used: np.ndarray
) -> bool:
    """anti-kT: the decay partons are pairwise closer than R (and near the resonance axis)."""
    _, er, pr, _ = to_ptetaphim(res[r, 0], res[r, 1], res[r, 2], res[r, 3])
    merged = True
    for d in range(nd):
        i = rdau[r, d]
        _, e, p, _ = to_ptetaphim(part[i, 0], part[i, 1], part[i, 2], part[i, 3])
        merged = merged and (not used[i]) and delta_r(e, p, er, pr) < FATJET_R
        for d2 in range(d + 1, nd):
            i2 = rdau[r, d2]
            _, e2, p2, _ = to_ptetaphim(part[i2, 0], part[i2, 1], part[i2, 2], part[i2, 3])
            merged = merged and delta_r(e, p, e2, p2) < FATJET_R
    return merged


@njit(cache=True)
def _resonance_fatjet(
    st: np.ndarray,
    part: np.ndarray,
    pid: np.ndarray,
    gsplit: np.ndarray,
    rtype: int,
    dau: np.ndarray,
    nd: int,
    ff: np.ndarray,
    fi: np.ndarray,
    fp: np.ndarray,
    k: int,
) -> bool:
    m0 = M_H if rtype == 25 else M_TOP if rtype == 6 else M_W
    scale = 0.97 + 0.08 * normal(st)
    if uniform(st) < 0.15:
        scale = 0.45 + 0.45 * uniform(st)
    tau21 = beta(st, 3.0, 5.5) if nd == 2 else beta(st, 4.5, 4.5)
    p4 = np.zeros(4)
    for d in range(nd):
        p4 += part[dau[d]]
    label = 1 if rtype == 25 else 0
    if not _store(st, ff, fi, fp, k, p4, m0 * scale, tau21, label, 24.0 if nd == 2 else 32.0):
        return False
    _prongs_from(part, pid, gsplit, dau, nd, p4, fp, k)
    fi[k, FI_NPRONG] = nd
    return True


@njit(cache=True)
def _parton_fatjet(
    st: np.ndarray,
    part: np.ndarray,
    pid: int,
    gsplit: int,
    ff: np.ndarray,
    fi: np.ndarray,
    fp: np.ndarray,
    k: int,
) -> bool:
    pt = np.sqrt(part[0] ** 2 + part[1] ** 2)
    if uniform(st) < 0.2:
        msd = 10.0 * uniform(st)
    else:
        msd = min(pt * FATJET_R * 0.11 * gamma(st, 1.6) * (1.25 if pid == 21 else 1.0), 0.45 * pt)
    if not _store(st, ff, fi, fp, k, part, msd, beta(st, 6.0, 3.5), 0, 22.0 if pid == 21 else 16.0):
        return False
    fi[k, FI_NPRONG] = 2  # hard core + one soft wide-angle emission
    fp[k, 0, 0], fp[k, 0, 1], fp[k, 0, 2] = 0.0, 0.0, 0.85 + 0.1 * uniform(st)
    fp[k, 0, 3] = _flavour_strength(pid, gsplit)
    dr = 0.1 + 0.5 * uniform(st)
    ang = 2.0 * np.pi * uniform(st)
    fp[k, 1, 0], fp[k, 1, 1] = dr * np.cos(ang), dr * np.sin(ang)
    fp[k, 1, 2] = 1.0 - fp[k, 0, 2]
    fp[k, 1, 3] = fp[k, 0, 3] if gsplit > 0 else 0.0
    return True


@njit(cache=True)
def make_fatjets(
    st: np.ndarray,
    part: np.ndarray,
    pid: np.ndarray,
    gsplit: np.ndarray,
    n: int,
    res: np.ndarray,
    rtype: np.ndarray,
    rdau: np.ndarray,
    rnd: np.ndarray,
    nres: int,
    ff: np.ndarray,
    fi: np.ndarray,
    fp: np.ndarray,
) -> int:
    """Fill large-R jets (unsorted) into ff/fi/fp; return the count."""
    used = np.zeros(MAXP, dtype=np.bool_)
    k = 0
    for r in range(nres):
        nd = rnd[r]
        if k >= MAXF or not _is_merged(part, res, r, rdau, nd, used):
            continue
        if _resonance_fatjet(st, part, pid, gsplit, rtype[r], rdau[r], nd, ff, fi, fp, k):
            for d in range(nd):
                used[rdau[r, d]] = True
            k += 1
    for i in range(n):
        if used[i] or k >= MAXF:
            continue
        if np.sqrt(part[i, 0] ** 2 + part[i, 1] ** 2) < 0.8 * FATJET_PT_MIN:
            continue
        if _parton_fatjet(st, part[i], pid[i], gsplit[i], ff, fi, fp, k):
            k += 1
    return k
