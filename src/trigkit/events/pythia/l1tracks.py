"""Phase-2-style Level-1 tracks, the L1 primary vertex and the L1 tracks of each L1 jet, in numba.

CMS Phase-2 L1 track finding (CMS-TDR-014, 2017: "The Phase-2 Upgrade of the CMS Tracker",
Sec. 3.5 and the L1-tracking performance figures there) reconstructs, at 40 MHz, tracks with
pT > 2 GeV in |eta| < 2.4 from outer-tracker stubs (no pixels). The numbers used here are the
TDR's performance for muons/pions in ttbar at PU 200, rounded to the level the figures allow:

- efficiency: 0.95 for |eta| < 1.0, 0.90 beyond (pions in ttbar, Sec. 3.5; muons ~0.98),
  falling linearly with the production radius to 0 at 500 mm (stubs in >= 4 of the 6 barrel
  layers, the fourth at ~510 mm);
- sigma(pT)/pT = 1 % (+) 0.06 %/GeV x pT, x (1 + 0.4 |eta|): ~1 % central and ~2 % forward at
  low pT ("prompt-track pT resolution ~1-2 %");
- sigma(z0) = 0.6 mm (+) 1.6 mm / pT[GeV], x (1 + 0.4 eta^2): ~1 mm at low pT, central;
- sigma(d0), the displaced 5-parameter fit: 20 um (+) 200 um / pT[GeV], x (1 + 0.4 eta^2):
  O(tens of um) for high-pT tracks, ~100 um at 2 GeV;
- Gaussian cores only (no tails, no fake tracks: documented limits of this model).

Each charged final-state particle is propagated on its helix to the perigee
(:func:`~trigkit.events.pythia.tracking.perigee`, 3.8 T), so displaced decay products carry
their displacement; the perigee is then smeared across the track direction by sigma(d0), z0
by sigma(z0), pT by sigma(pT).

L1 primary vertex: the FastHisto algorithm of the Phase-2 L1 trigger TDR (CMS-TDR-021, 2020):
the L1 tracks' z0 in 256 bins over |z| < 150 mm, each weighted by min(pT, 128 GeV); the vertex
is the bin-content-weighted mean of the bin centres of the 3-bin window with the largest sum.
Track z0 is then quoted relative to it.

Per L1 jet (:func:`jet_tracks`): L1 tracks within dR < 0.4 of the jet axis with |z0| < 5 mm of
the L1 vertex, lifetime-signed like offline tracks (:func:`jetbuild.signed_ip`), sorted by
decreasing |d0/sigma(d0)|, at most 30: the same track fields as offline jets' ``tracks``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from trigkit.events.pythia.far import Far
from trigkit.events.pythia.jetbuild import N_TR, dphi, write_track_row
from trigkit.events.pythia.trackcols import (
    K_ETA,
    K_FAKE,
    K_ORIGIN,
    K_PART,
    K_PHI,
    K_PT,
    K_Q,
    K_RPROD,
    K_SD0,
    K_SZ0,
    K_X,
    K_Y,
    K_Z0,
    N_K,
    PRIMARY,
)
from trigkit.events.pythia.tracking import moved, perigee

PT_MIN = 2.0
ETA_MAX = 2.4
EFF_CENTRAL, EFF_FORWARD, ETA_EFF = 0.95, 0.90, 1.0
R_MAX_MM = 500.0
# FastHisto (CMS-TDR-021)
HISTO_Z_MM, HISTO_BINS, HISTO_WINDOW, HISTO_PT_MAX = 150.0, 256, 3, 128.0
# per L1 jet
JET_DR, JET_DZ_MM, MAX_TRACKS = 0.4, 5.0, 30


@njit(cache=True)
def sigma_pt_rel(pt: float, eta: float) -> float:
    return np.hypot(0.01, 0.0006 * pt) * (1.0 + 0.4 * abs(eta))


@njit(cache=True)
def sigma_z0(pt: float, eta: float) -> float:
    return np.hypot(0.6, 1.6 / pt) * (1.0 + 0.4 * eta * eta)


@njit(cache=True)
def sigma_d0(pt: float, eta: float) -> float:
    return np.hypot(0.020, 0.200 / pt) * (1.0 + 0.4 * eta * eta)


@njit(cache=True)
def efficiency(pt: float, eta: float, r_prod: float) -> float:
    if pt < PT_MIN or abs(eta) >= ETA_MAX:
        return 0.0
    eff = EFF_CENTRAL if abs(eta) < ETA_EFF else EFF_FORWARD
    return eff * max(0.0, 1.0 - r_prod / R_MAX_MM)


@njit(cache=True)
def smear(p: np.ndarray, g_pt: float, g_d0: float, g_z0: float, out: np.ndarray, k: int) -> None:
    """Row k of ``out`` (N_K columns): particle row ``p`` (px py pz e x y z q ...) measured as an
    L1 track, given three standard normals; z0 is absolute (the vertex is subtracted later)."""
    px, py, pz = p[0], p[1], p[2]
    pt = np.hypot(px, py)
    eta = np.arcsinh(pz / pt)
    fx, fy, arc, phi = perigee(px, py, p[4], p[5], p[7])
    sd0, sz0 = sigma_d0(pt, eta), sigma_z0(pt, eta)
    d = sd0 * g_d0
    out[k, K_PT] = pt * max(0.05, 1.0 + sigma_pt_rel(pt, eta) * g_pt)
    out[k, K_ETA] = eta
    out[k, K_PHI] = phi
    out[k, K_X] = fx - d * np.sin(phi)
    out[k, K_Y] = fy + d * np.cos(phi)
    out[k, K_Z0] = p[6] + arc * pz / pt + sz0 * g_z0
    out[k, K_SD0] = sd0
    out[k, K_SZ0] = sz0
    out[k, K_FAKE] = 0.0
    out[k, K_ORIGIN] = PRIMARY
    out[k, K_Q] = p[7]
    out[k, K_RPROD] = np.hypot(p[4], p[5])


@njit(cache=True)
def fast_histo(z0: np.ndarray, pt: np.ndarray) -> float:
    """L1 vertex z (mm) of tracks (z0, pT): FastHisto (module docstring); 0 without tracks."""
    width = 2.0 * HISTO_Z_MM / HISTO_BINS
    h = np.zeros(HISTO_BINS)
    for t in range(len(z0)):
        if abs(z0[t]) < HISTO_Z_MM:
            h[min(HISTO_BINS - 1, int((z0[t] + HISTO_Z_MM) / width))] += min(pt[t], HISTO_PT_MAX)
    best, first = -1.0, 0
    for b in range(HISTO_BINS - HISTO_WINDOW + 1):
        s = h[b : b + HISTO_WINDOW].sum()
        if s > best:
            best, first = s, b
    if best <= 0.0:
        return 0.0
    zs = 0.0
    for b in range(first, first + HISTO_WINDOW):
        zs += h[b] * (-HISTO_Z_MM + (b + 0.5) * width)
    return zs / best


def l1_tracks(
    parts: np.ndarray, off: np.ndarray, seed: int, far: Far | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(L1 tracks (n, N_K) with z0 relative to the L1 vertex, per-event offsets, L1 vertex z per
    event) of the chunk's particles (columns of ``pileup.assemble``) and of the ``far``
    pileup vertices (their pool events' L1 tracks, moved to the vertex z and rotated)."""
    if far is None:
        e = np.zeros(0, dtype=np.int64)
        none = (np.zeros((0, N_K)), np.zeros(1, dtype=np.int64))
        args = (np.zeros(len(off), dtype=np.int64), e, np.zeros(0), np.zeros(0))
    else:
        none = (far.response.l1_tracks, far.response.l1_toff)
        args = (far.off, far.pick, far.z, far.angle)
    return _l1_tracks(parts, off, seed, *none, *args)


@njit(cache=True)
def _l1_tracks(
    parts: np.ndarray,
    off: np.ndarray,
    seed: int,
    ptrk: np.ndarray,
    ptoff: np.ndarray,
    foff: np.ndarray,
    fpick: np.ndarray,
    fz: np.ndarray,
    fangle: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    np.random.seed(seed)
    n_ev = len(off) - 1
    n_far = 0
    for v in range(len(fpick)):
        n_far += ptoff[fpick[v] + 1] - ptoff[fpick[v]]
    out = np.empty((len(parts) + n_far, N_K))
    toff = np.zeros(n_ev + 1, dtype=np.int64)
    zvtx = np.zeros(n_ev)
    k = 0
    for ev in range(n_ev):
        first = k
        k = _event_l1_tracks(parts, off[ev], off[ev + 1], out, k)
        for v in range(foff[ev], foff[ev + 1]):
            e = fpick[v]
            k = moved(ptrk, ptoff[e], ptoff[e + 1], fz[v], fangle[v], out, k)
        zvtx[ev] = fast_histo(out[first:k, K_Z0], out[first:k, K_PT])
        for t in range(first, k):
            out[t, K_Z0] -= zvtx[ev]
        toff[ev + 1] = k
    return out[:k], toff, zvtx


@njit(cache=True)
def real_l1_tracks(parts: np.ndarray, off: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The L1 tracks of the particles alone, z0 absolute (no vertex found), per event."""
    np.random.seed(seed)
    n_ev = len(off) - 1
    out = np.empty((len(parts), N_K))
    toff = np.zeros(n_ev + 1, dtype=np.int64)
    for ev in range(n_ev):
        toff[ev + 1] = _event_l1_tracks(parts, off[ev], off[ev + 1], out, toff[ev])
    return out[: toff[-1]].copy(), toff


@njit(cache=True)
def _event_l1_tracks(parts: np.ndarray, lo: int, hi: int, out: np.ndarray, k: int) -> int:
    for i in range(lo, hi):
        p = parts[i]
        if p[7] == 0.0:
            continue
        pt = np.hypot(p[0], p[1])
        if pt < PT_MIN:
            continue
        eta = np.arcsinh(p[2] / pt)
        if abs(eta) >= ETA_MAX:
            continue
        if np.random.random() >= efficiency(pt, eta, np.hypot(p[4], p[5])):
            continue
        g_pt = np.random.normal()
        g_d0 = np.random.normal()
        g_z0 = np.random.normal()
        smear(p, g_pt, g_d0, g_z0, out, k)
        out[k, K_PART] = i - lo
        k += 1
    return k


@njit(cache=True)
def jet_tracks(
    trk: np.ndarray, toff: np.ndarray, jets: np.ndarray, counts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(tracks (m, N_TR) in the offline ``jets.tracks`` layout, per-jet counts) of L1 jets
    ``jets`` (rows pt eta phi ..., ``counts`` per event): module docstring."""
    out = np.empty((len(jets) * MAX_TRACKS, N_TR))
    ntrk = np.zeros(len(jets), dtype=np.int64)
    k, j = 0, 0
    for ev in range(len(counts)):
        for _ in range(counts[ev]):
            eta, phi = jets[j, 1], jets[j, 2]
            sel = []
            for t in range(toff[ev], toff[ev + 1]):
                if abs(trk[t, K_Z0]) >= JET_DZ_MM:
                    continue
                if np.hypot(trk[t, K_ETA] - eta, dphi(trk[t, K_PHI], phi)) < JET_DR:
                    sel.append(t)
            sig = np.empty(len(sel))
            for s, t in enumerate(sel):
                sig[s] = -np.hypot(trk[t, K_X], trk[t, K_Y]) / trk[t, K_SD0]
            for s in np.argsort(sig, kind="mergesort")[:MAX_TRACKS]:
                write_track_row(out, k, trk, sel[s], eta, phi)
                k += 1
            ntrk[j] = min(len(sel), MAX_TRACKS)
            j += 1
    return out[:k], ntrk
