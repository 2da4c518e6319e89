"""Partons -> small-R jets (numba): clustering, response, acceptance, pileup jets, flavour.

* partons closer than R = 0.4 are merged (four-vector sum); hadron flavour is 5 if any merged
  parton is a b (or a gluon split to b b-bar), else 4 for c, else 0; parton flavour is that of the
  hardest parton;
* pT response: mean 0.98 light / 0.96 gluon / 0.95 c / 0.93 b (neutrinos of semileptonic decays:
  20% of b jets lose an extra Exp(12%)), resolution sigma/pT = N/pT + S/sqrt(pT) + C in
  quadrature (N = 3 GeV, S = 1.0 sqrt(GeV), C = 5%), x1.3 in the endcaps, x1.6 in the HF;
* stored: pT > 15 GeV, |eta| < 4.7; tracks only for |eta| < 2.5;
* pileup: Poisson(N_PU x 0.04) jets with pT = 15 + Exp(6 GeV), flat in |eta| < 4.7, no flavour,
  tracks from another vertex (dz ~ N(0, 60 mm)) or, for stochastic jets (40%), from many.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from trigkit.events.generator.constants import (
    ETA_CALO,
    ETA_TRACKER,
    HCODE_B,
    HCODE_B_GSPLIT,
    HCODE_D0,
    HCODE_DPLUS,
    HCODE_DS,
    HCODE_LAMBDAC,
    HCODE_NONE,
    JET_PT_MIN,
    JET_R,
    JF_DZ,
    JF_ETA,
    JF_MASS,
    JF_PHI,
    JF_PT,
    JF_XHAD,
    JI_HCODE,
    JI_HF,
    JI_NFRAG,
    JI_NHAD,
    JI_PF,
    JI_PU,
    MAXJ,
    MAXP,
    MAXTRK,
    N_PILEUP,
    PU_JETS_PER_VERTEX,
)
from trigkit.events.generator.kinematics import delta_r, to_ptetaphim
from trigkit.events.generator.rng import beta, exponential, normal, poisson, uniform


@njit(cache=True)
def resolution(pt: float, eta: float) -> float:
    rel = np.sqrt((3.0 / pt) ** 2 + 1.0 / pt + 0.05**2)
    aeta = abs(eta)
    return rel * (1.0 if aeta < 1.3 else 1.3 if aeta < 3.0 else 1.6)


@njit(cache=True)
def cluster(
    part: np.ndarray, pid: np.ndarray, gsplit: np.ndarray, n: int, out: np.ndarray, meta: np.ndarray
) -> int:
    """Merge partons within R into proto-jets.

    out[j] = summed (px, py, pz, E); meta[j] = (hadron flavour, parton flavour of the hardest).
    """
    pts = np.empty(n)
    for i in range(n):
        pts[i] = np.sqrt(part[i, 0] ** 2 + part[i, 1] ** 2)
    order = np.argsort(-pts)
    nj = 0
    for ii in range(n):
        i = order[ii]
        if pts[i] < 1.0:
            continue
        _, eta, phi, _ = to_ptetaphim(part[i, 0], part[i, 1], part[i, 2], part[i, 3])
        hf = 5 if (pid[i] == 5 or gsplit[i] == 5) else 4 if (pid[i] == 4 or gsplit[i] == 4) else 0
        target = -1
        for j in range(nj):
            _, ej, pj, _ = to_ptetaphim(out[j, 0], out[j, 1], out[j, 2], out[j, 3])
            if delta_r(eta, phi, ej, pj) < JET_R:
                target = j
                break
        if target < 0:
            if nj >= MAXP:
                continue
            target = nj
            nj += 1
            out[target, :] = 0.0
            meta[target, 0] = 0
            meta[target, 1] = pid[i]
        for c in range(4):
            out[target, c] += part[i, c]
        if hf == 5 or (hf == 4 and meta[target, 0] != 5):
            meta[target, 0] = hf
    return nj


@njit(cache=True)
def response(st: np.ndarray, pt: float, eta: float, hf: int, pf: int) -> float:
    mean = 0.93 if hf == 5 else 0.95 if hf == 4 else 0.96 if pf == 21 else 0.98
    r = mean + resolution(pt, eta) * normal(st)
    if hf == 5 and uniform(st) < 0.2:
        r -= 0.12 * exponential(st)
    return max(r, 0.05)


@njit(cache=True)
def hadron(st: np.ndarray, hf: int, pf: int) -> tuple[int, float, int]:
    """Heavy hadron in the jet: (hcode, momentum fraction x, charged tracks above 1 GeV)."""
    if hf == 5:
        if pf == 21 or pf == 0:
            return HCODE_B_GSPLIT, beta(st, 3.0, 4.0), 2 + poisson(st, 2.5)
        return HCODE_B, beta(st, 7.0, 3.0), 1 + poisson(st, 3.3)
    if hf == 4:
        u = uniform(st)
        code = (
            HCODE_D0
            if u < 0.55
            else HCODE_DPLUS
            if u < 0.80
            else HCODE_DS
            if u < 0.90
            else HCODE_LAMBDAC
        )
        return code, beta(st, 5.0, 3.5), 1 + poisson(st, 1.2)
    return HCODE_NONE, 0.0, 0


@njit(cache=True)
def n_fragmentation(st: np.ndarray, pt: float, pf: int, pileup: bool) -> int:
    if pileup:
        return poisson(st, max(0.0, 2.0 * np.log(pt / 8.0)))
    lam = max(0.0, 2.6 * np.log(pt / 6.0)) * (1.35 if pf == 21 else 1.0)
    return poisson(st, lam)


@njit(cache=True)
def fill_jet(
    st: np.ndarray,
    jf: np.ndarray,
    ji: np.ndarray,
    j: int,
    pt: float,
    eta: float,
    phi: float,
    m: float,
    hf: int,
    pf: int,
    pileup: bool,
) -> None:
    """Write one jet and draw its hadron content and track multiplicity."""
    jf[j, JF_PT], jf[j, JF_ETA], jf[j, JF_PHI], jf[j, JF_MASS] = pt, eta, phi, m
    ji[j, JI_HF], ji[j, JI_PF], ji[j, JI_PU] = hf, pf, 1 if pileup else 0
    code, x, nhad = hadron(st, hf, pf)
    nfrag = 0
    if abs(eta) < ETA_TRACKER:
        nfrag = n_fragmentation(st, pt * (1.0 - x), pf, pileup)
    else:
        nhad = 0
    nhad = min(nhad, MAXTRK)
    ji[j, JI_HCODE], ji[j, JI_NHAD], ji[j, JI_NFRAG] = code, nhad, min(nfrag, MAXTRK - nhad)
    jf[j, JF_XHAD] = x
    jf[j, JF_DZ] = 0.0
    if pileup:
        jf[j, JF_DZ] = 60.0 * normal(st) if uniform(st) < 0.6 else np.nan


@njit(cache=True)
def make_jets(
    st: np.ndarray,
    part: np.ndarray,
    pid: np.ndarray,
    gsplit: np.ndarray,
    n: int,
    jf: np.ndarray,
    ji: np.ndarray,
) -> int:
    """Hard-scatter jets then pileup jets into jf/ji (unsorted); return the count."""
    proto = np.empty((MAXP, 4))
    meta = np.zeros((MAXP, 2), dtype=np.int64)
    nproto = cluster(part, pid, gsplit, n, proto, meta)
    nj = 0
    for k in range(nproto):
        pt0, eta0, phi0, m0 = to_ptetaphim(proto[k, 0], proto[k, 1], proto[k, 2], proto[k, 3])
        hf, pf = meta[k, 0], meta[k, 1]
        pt = pt0 * response(st, pt0, eta0, hf, pf)
        eta = eta0 + 0.02 * normal(st)
        phi = phi0 + 0.02 * normal(st)
        if pt < JET_PT_MIN or abs(eta) > ETA_CALO or nj >= MAXJ:
            continue
        mass = np.sqrt(m0 * m0 + (pt * (0.06 + 0.05 * exponential(st))) ** 2)
        fill_jet(st, jf, ji, nj, pt, eta, (phi + np.pi) % (2 * np.pi) - np.pi, mass, hf, pf, False)
        nj += 1
    npu = poisson(st, N_PILEUP * PU_JETS_PER_VERTEX)
    for _ in range(npu):
        if nj >= MAXJ:
            break
        pt = JET_PT_MIN + 6.0 * exponential(st)
        eta = ETA_CALO * (2.0 * uniform(st) - 1.0)
        phi = 2.0 * np.pi * uniform(st) - np.pi
        fill_jet(st, jf, ji, nj, pt, eta, phi, pt * (0.1 + 0.1 * uniform(st)), 0, 0, True)
        nj += 1
    return nj
