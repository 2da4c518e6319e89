"""Energy-correlation jet shape D2 (beta = 1), in numba.

Energy correlation functions of Larkoski, Salam and Thaler, JHEP 06 (2013) 108
(arXiv:1305.0007), in the hadron-collider (pT, Delta R) measure, and D2 = e3 / e2^3 of
Larkoski, Moult and Neill, JHEP 12 (2014) 009 (arXiv:1409.6298), with
z_i = pT_i / sum pT, e2 = sum_{i<j} z_i z_j R_ij^beta and
e3 = sum_{i<j<k} z_i z_j z_k (R_ij R_ik R_jk)^beta. ATLAS and CMS compute it on groomed
large-R jets (here: the soft-drop constituents, beta_SD = 0, z_cut = 0.1). Two-prong jets
(H -> bb, W/Z) have small D2 (~1), QCD jets larger values (~2-3).
"""

from __future__ import annotations

import awkward as ak
import numpy as np
from numba import njit

BETA = 1.0


@njit(cache=True)
def _d2_one(pt: np.ndarray, eta: np.ndarray, phi: np.ndarray, beta: float) -> float:
    n = len(pt)
    if n < 3:
        return 0.0
    total = pt.sum()
    z = pt / total
    dr = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            dp = (phi[i] - phi[j] + np.pi) % (2.0 * np.pi) - np.pi
            dr[i, j] = np.hypot(eta[i] - eta[j], dp) ** beta
    e2, e3 = 0.0, 0.0
    for i in range(n):
        for j in range(i + 1, n):
            zij = z[i] * z[j]
            e2 += zij * dr[i, j]
            for k in range(j + 1, n):
                e3 += zij * z[k] * dr[i, j] * dr[i, k] * dr[j, k]
    return e3 / e2**3 if e2 > 0.0 else 0.0


@njit(cache=True)
def d2(p4: np.ndarray, counts: np.ndarray, beta: float = BETA) -> np.ndarray:
    """D2 of each constituent set (``counts`` rows of ``p4`` = px py pz E each); 0 for sets
    with fewer than three constituents."""
    out = np.zeros(len(counts))
    lo = 0
    for j in range(len(counts)):
        hi = lo + counts[j]
        px, py, pz = p4[lo:hi, 0], p4[lo:hi, 1], p4[lo:hi, 2]
        pt = np.hypot(px, py)
        good = pt > 0.0
        eta = np.arcsinh(pz[good] / pt[good])
        out[j] = _d2_one(pt[good], eta, np.arctan2(py[good], px[good]), beta)
        lo = hi
    return out


def d2_of_constituents(constituents: ak.Array) -> np.ndarray:
    """D2 of each jet of ``var * {px, py, pz, E}`` constituents (fastjet's soft-drop output)."""
    counts = ak.to_numpy(ak.num(constituents, axis=1)).astype(np.int64)
    flat = ak.flatten(constituents, axis=1)
    p4 = np.stack([ak.to_numpy(flat[k]).astype(np.float64) for k in ("px", "py", "pz", "E")], 1)
    return d2(np.ascontiguousarray(p4.reshape(-1, 4)), counts)
