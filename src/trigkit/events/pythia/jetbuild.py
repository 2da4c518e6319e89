"""Offline jets from clustered calo inputs, in numba: pileup offset, energy resolution,
hadron-based flavour labels, tracks with lifetime-signed impact parameters.

- Pileup offset: pT -> pT - rho x pi R^2 (CMS L1 offset correction, JINST 12 (2017) P02014).
- Resolution (same paper, Fig. 35, |eta| < 1.3): sigma/pT = 3 GeV/pT (+) 1.0/sqrt(pT) (+) 0.05.
- Hadron flavour: 5 if a weakly decaying b hadron (pT > 5 GeV) lies within dR < 0.3 of the jet
  axis, else 4 for a c hadron, else 0 (CMS JINST 13 (2018) P05011; ATLAS uses the same dR).
- Parton flavour: |pid| of the hardest outgoing hard-process parton within dR < 0.4, else 0.
- is_pileup: less than half the jet's pT comes from the hard scatter.
- Tracks: pT > 1 GeV, dR(track, jet) < R, |z0| < 3 mm from the primary vertex (so pileup
  tracks from nearby vertices stay in), and the b-tagging track quality of CMS JINST 13 (2018)
  P05011 (Sec. 3.1): |d0| < 2 mm and at least two pixel hits (produced inside the second
  pixel layer), sorted by |d0/sigma| (at most 30 per jet).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from trigkit.events.pythia.calo import C_PART, C_PTHS
from trigkit.events.pythia.material import pixel_hits
from trigkit.events.pythia.trackcols import (
    K_ETA,
    K_PART,
    K_PHI,
    K_PT,
    K_RPROD,
    K_SD0,
    K_SZ0,
    K_X,
    K_Y,
    K_Z0,
)

HADRON_DR = 0.3
HADRON_PT_MIN = 5.0
PARTON_DR = 0.4
TRACK_PT_MIN = 1.0
TRACK_DZ_MM = 3.0
TRACK_D0_MAX_MM = 2.0
TRACK_PIXEL_HITS = 2
MAX_TRACKS = 30
# output columns
J_PT, J_ETA, J_PHI, J_MASS, J_HF, J_PF, J_PU, J_EV, J_SCALE, J_SRC = range(10)
N_J = 10
TR_PT, TR_DETA, TR_DPHI, TR_D0, TR_Z0, TR_D0SIG, TR_Z0SIG = range(7)
N_TR = 7


@njit(cache=True)
def dphi(a: float, b: float) -> float:
    return (a - b + np.pi) % (2 * np.pi) - np.pi


@njit(cache=True)
def kinematics(p4: np.ndarray) -> tuple[float, float, float, float]:
    px, py, pz, e = p4[0], p4[1], p4[2], p4[3]
    pt = np.hypot(px, py)
    eta = np.arcsinh(pz / pt) if pt > 0 else 0.0
    m2 = e * e - px * px - py * py - pz * pz
    return pt, eta, np.arctan2(py, px), np.sqrt(max(m2, 0.0))


@njit(cache=True)
def resolution(pt: float) -> float:
    return np.sqrt((3.0 / pt) ** 2 + 1.0 / pt + 0.05**2)


@njit(cache=True)
def hadron_label(eta: float, phi: float, had: np.ndarray, lo: int, hi: int) -> int:
    label = 0
    for h in range(lo, hi):
        if had[h, 0] < HADRON_PT_MIN:
            continue
        if np.hypot(eta - had[h, 1], dphi(phi, had[h, 2])) < HADRON_DR:
            if had[h, 3] == 5:
                return 5
            label = 4
    return label


@njit(cache=True)
def parton_label(eta: float, phi: float, par: np.ndarray, lo: int, hi: int) -> int:
    best, label = 0.0, 0
    for h in range(lo, hi):
        if np.hypot(eta - par[h, 1], dphi(phi, par[h, 2])) < PARTON_DR and par[h, 0] > best:
            best, label = par[h, 0], int(par[h, 3])
    return label


@njit(cache=True)
def signed_ip(trk: np.ndarray, t: int, eta: float, phi: float) -> tuple[float, float]:
    """Lifetime-signed (d0, z0) of track row ``t`` with respect to a jet axis."""
    x, y, z0 = trk[t, K_X], trk[t, K_Y], trk[t, K_Z0]
    d0 = np.hypot(x, y)
    if x * np.cos(phi) + y * np.sin(phi) < 0:
        d0 = -d0
    z = abs(z0) if z0 * np.sinh(eta) >= 0 else -abs(z0)
    return d0, z


@njit(cache=True)
def write_track_row(
    out: np.ndarray, k: int, trk: np.ndarray, t: int, eta: float, phi: float
) -> None:
    """Row ``k`` of a jet's track table from track ``t``: pT, position relative to the jet
    axis, lifetime-signed d0 / z0 and their significances."""
    d0, z0 = signed_ip(trk, t, eta, phi)
    out[k, TR_PT] = trk[t, K_PT]
    out[k, TR_DETA] = trk[t, K_ETA] - eta
    out[k, TR_DPHI] = dphi(trk[t, K_PHI], phi)
    out[k, TR_D0], out[k, TR_Z0] = d0, z0
    out[k, TR_D0SIG] = d0 / trk[t, K_SD0]
    out[k, TR_Z0SIG] = z0 / trk[t, K_SZ0]


@njit(cache=True)
def jet_tracks(
    trk: np.ndarray,
    lo: int,
    hi: int,
    eta: float,
    phi: float,
    radius: float,
    out: np.ndarray,
    k: int,
) -> int:
    """Append the jet's tracks (sorted by |d0_sig|, at most MAX_TRACKS) to ``out`` from row k."""
    sel = []
    for t in range(lo, hi):
        if trk[t, K_PT] < TRACK_PT_MIN or abs(trk[t, K_Z0]) > TRACK_DZ_MM:
            continue
        if np.hypot(trk[t, K_X], trk[t, K_Y]) > TRACK_D0_MAX_MM:
            continue
        if pixel_hits(trk[t, K_RPROD]) < TRACK_PIXEL_HITS:
            continue
        if np.hypot(trk[t, K_ETA] - eta, dphi(trk[t, K_PHI], phi)) < radius:
            sel.append(t)
    sig = np.empty(len(sel))
    for j, t in enumerate(sel):
        sig[j] = -abs(np.hypot(trk[t, K_X], trk[t, K_Y]) / trk[t, K_SD0])
    order = np.argsort(sig)
    for j in order[:MAX_TRACKS]:
        write_track_row(out, k, trk, sel[j], eta, phi)
        k += 1
    return k


@njit(cache=True)
def build_jets(
    jp4: np.ndarray,
    joff: np.ndarray,
    cidx: np.ndarray,
    cjoff: np.ndarray,
    calo: np.ndarray,
    coff: np.ndarray,
    rho: np.ndarray,
    radius: float,
    pt_min: float,
    eta_max: float,
    trk: np.ndarray,
    toff: np.ndarray,
    had: np.ndarray,
    hoff: np.ndarray,
    par: np.ndarray,
    poff: np.ndarray,
    seed: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Jets (n, N_J), their tracks (m, N_TR) and the per-jet track counts."""
    np.random.seed(seed)
    jets = np.empty((len(jp4), N_J))
    tracks = np.empty((len(jp4) * MAX_TRACKS, N_TR))
    ntrk = np.zeros(len(jp4), dtype=np.int64)
    n, k = 0, 0
    area = np.pi * radius * radius
    for ev in range(len(joff) - 1):
        for j in range(joff[ev], joff[ev + 1]):
            pt, eta, phi, mass = kinematics(jp4[j])
            if abs(eta) > eta_max or pt <= 0:
                continue
            scale = max(0.0, 1.0 - rho[ev] * area / pt) * (
                1.0 + resolution(pt) * np.random.normal()
            )
            if pt * scale < pt_min:
                continue
            pt_hs = 0.0
            for c in range(cjoff[j], cjoff[j + 1]):
                pt_hs += calo[coff[ev] + cidx[c], C_PTHS]
            jets[n, J_PT], jets[n, J_ETA], jets[n, J_PHI] = pt * scale, eta, phi
            jets[n, J_MASS], jets[n, J_SCALE], jets[n, J_EV] = mass * scale, scale, ev
            jets[n, J_SRC] = j
            jets[n, J_HF] = hadron_label(eta, phi, had, hoff[ev], hoff[ev + 1])
            jets[n, J_PF] = parton_label(eta, phi, par, poff[ev], poff[ev + 1])
            jets[n, J_PU] = 1.0 if pt_hs < 0.5 * pt else 0.0
            k0 = k
            k = jet_tracks(trk, toff[ev], toff[ev + 1], eta, phi, radius, tracks, k)
            ntrk[n] = k - k0
            n += 1
    return jets[:n], tracks[:k], ntrk[:n]


@njit(cache=True)
def constituents(
    jets: np.ndarray,
    cidx: np.ndarray,
    cjoff: np.ndarray,
    calo: np.ndarray,
    coff: np.ndarray,
    parts: np.ndarray,
    off: np.ndarray,
    part2trk: np.ndarray,
    trk: np.ndarray,
    max_con: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Constituents (pt deta dphi d0_sig charge) of each kept large-R jet, hardest first."""
    out = np.empty((len(jets) * max_con, 5))
    counts = np.zeros(len(jets), dtype=np.int64)
    k = 0
    for n in range(len(jets)):
        ev, j = int(jets[n, J_EV]), int(jets[n, J_SRC])
        eta, phi = jets[n, J_ETA], jets[n, J_PHI]
        lo, hi = cjoff[j], cjoff[j + 1]
        pts = np.empty(hi - lo)
        for c in range(lo, hi):
            row = coff[ev] + cidx[c]
            pts[c - lo] = np.hypot(calo[row, 0], calo[row, 1])
        for c in np.argsort(-pts)[:max_con]:
            row = coff[ev] + cidx[lo + c]
            pt, ceta, cphi, _ = kinematics(calo[row, :4])
            out[k, 0], out[k, 1], out[k, 2] = pt, ceta - eta, dphi(cphi, phi)
            out[k, 3], out[k, 4] = 0.0, 0.0
            ip = int(calo[row, C_PART])
            if ip >= 0:
                out[k, 4] = parts[off[ev] + ip, 7]
                t = part2trk[off[ev] + ip]
                if t >= 0:
                    d0, _ = signed_ip(trk, t, eta, phi)
                    out[k, 3] = d0 / trk[t, K_SD0]
            k += 1
        counts[n] = min(hi - lo, max_con)
    return out[:k], counts


@njit(cache=True)
def particle_to_track(n_parts: int, trk: np.ndarray) -> np.ndarray:
    out = np.full(n_parts, -1, dtype=np.int64)
    for t in range(len(trk)):
        if trk[t, K_PART] >= 0:
            out[int(trk[t, K_PART])] = t
    return out


@njit(cache=True)
def hbb_label(jets: np.ndarray, hb: np.ndarray, hboff: np.ndarray, radius: float) -> np.ndarray:
    """1 where both b quarks of one Higgs boson lie within ``radius`` of the jet axis."""
    out = np.zeros(len(jets), dtype=np.int8)
    for n in range(len(jets)):
        ev = int(jets[n, J_EV])
        for h in range(hboff[ev], hboff[ev + 1]):
            inside = 0
            for b in range(2):
                dr = np.hypot(jets[n, J_ETA] - hb[h, b, 0], dphi(jets[n, J_PHI], hb[h, b, 1]))
                inside += dr < radius
            if inside == 2:
                out[n] = 1
    return out


@njit(cache=True)
def count_b_hadrons(
    jets: np.ndarray, had: np.ndarray, hoff: np.ndarray, radius: float
) -> np.ndarray:
    """Weakly decaying b hadrons (pT > HADRON_PT_MIN) within ``radius`` of each jet's axis
    (g -> bb large-R jets have two)."""
    out = np.zeros(len(jets), dtype=np.int8)
    for n in range(len(jets)):
        ev = int(jets[n, J_EV])
        for h in range(hoff[ev], hoff[ev + 1]):
            if had[h, 3] != 5 or had[h, 0] < HADRON_PT_MIN:
                continue
            if np.hypot(jets[n, J_ETA] - had[h, 1], dphi(jets[n, J_PHI], had[h, 2])) < radius:
                out[n] += 1
    return out
