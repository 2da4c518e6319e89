"""Charged-particle tracks from the true production vertex, in numba.

Each charged final-state particle (|eta| < 2.5, pT > 0.5 GeV) is propagated on its helix in a
3.8 T solenoid to the perigee with respect to the beam line; the perigee gives d0 (transverse
distance) and z0 (z at the perigee minus the primary vertex), so B/D/K0s/Lambda decay products
carry their real displacement. Numbers from CMS, "Description and performance of track and
primary-vertex reconstruction with the CMS tracker", JINST 9 (2014) P10009:
- efficiency (Fig. 11-12, isolated pions incl. nuclear interactions): 0.90 (|eta| < 1.5),
  0.83 beyond; x 0.92 below 1 GeV; falls linearly with the production radius to 0 at 50 cm
  (iterative steps seed up to ~60 cm). The hit-finding efficiency here is 0.93 / 0.87: the
  nuclear interactions of :mod:`material` (a hadron interacting before 30 cm loses its
  track) bring pions to the published values (tested);
- resolution (Figs. 14-15): sigma(d0) = 20 um (+) 90 um / pT[GeV], sigma(z0) = 30 um (+) 120 um
  / pT, both x (1 + 0.25 eta^2); sigma(pT)/pT = 0.7 % (+) 0.015 %/GeV x pT, x (1 + 0.3 eta^2);
- non-Gaussian tails: 8 % of tracks get 3x the core resolution (mis-assigned hits);
- fakes: 2 % of the track count, pT from an exponential above 0.5 GeV (mean 1 GeV), d0/z0
  Laplacian with scales 0.3 mm / 1 mm, direction near a real track (dR ~ 0.05);
- material (:mod:`material`): photons (pT > 1 GeV) convert into e+ e- pairs whose tracks start
  at the conversion radius; hadrons interact and their charged secondaries start at the
  interaction point; both then go through the same efficiency and smearing as any track;
- merged tracks in dense cores (:mod:`merging`), after all tracks of the event are made.

Per event, :func:`reconstruct` also counts (columns ``S_*``) the photons and conversions in
the whole tracker acceptance and in |eta| < 1, the nuclear interactions and merged pairs.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from trigkit.events.pythia import material as mat
from trigkit.events.pythia.far import Far
from trigkit.events.pythia.merging import merge_tracks
from trigkit.events.pythia.trackcols import (
    CONVERSION,
    FAKE,
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
    NUCLEAR,
    PRIMARY,
)

B_TESLA = 3.8
ETA_MAX = 2.5
PT_MIN = 0.5
R_MAX_MM = 500.0
TAIL_FRACTION = 0.08
TAIL_SCALE = 3.0
FAKE_RATE = 0.02
EFF_CENTRAL, EFF_FORWARD = 0.93, 0.87
ETA_CENTRAL = 1.0  # |eta| of the photon-conversion fraction
# per-event counters returned by reconstruct
S_GAMMA, S_CONV, S_GAMMA_C, S_CONV_C, S_NUCL, S_MERGED = range(6)
N_S = 6


@njit(cache=True)
def sigma_d0(pt: float, eta: float) -> float:
    return np.hypot(0.020, 0.090 / pt) * (1.0 + 0.25 * eta * eta)


@njit(cache=True)
def sigma_z0(pt: float, eta: float) -> float:
    return np.hypot(0.030, 0.120 / pt) * (1.0 + 0.25 * eta * eta)


@njit(cache=True)
def efficiency(pt: float, eta: float, r_prod: float) -> float:
    eff = EFF_CENTRAL if abs(eta) < 1.5 else EFF_FORWARD
    if pt < 1.0:
        eff *= 0.92
    return eff * max(0.0, 1.0 - r_prod / R_MAX_MM)


@njit(cache=True)
def perigee(
    px: float, py: float, x: float, y: float, q: float
) -> tuple[float, float, float, float]:
    """(x, y) of the point of closest approach to the beam line, the signed transverse arc
    length from production to it (mm, positive along the motion) and phi there."""
    pt = np.hypot(px, py)
    radius = pt / (0.3 * B_TESLA) * 1000.0  # mm
    phi = np.arctan2(py, px)
    s = 1.0 if q > 0 else -1.0
    cx = x + s * radius * np.sin(phi)  # centre of the circle (force q v x B, B along +z)
    cy = y - s * radius * np.cos(phi)
    dc = np.hypot(cx, cy)
    fx, fy = cx * (1.0 - radius / dc), cy * (1.0 - radius / dc)
    a0 = np.arctan2(y - cy, x - cx)
    a1 = np.arctan2(fy - cy, fx - cx)
    turn = -s * (a1 - a0)  # positive charge turns clockwise
    turn = (turn + np.pi) % (2.0 * np.pi) - np.pi
    return fx, fy, radius * turn, phi - s * turn


@njit(cache=True)
def _smear(sig: float) -> float:
    if np.random.random() < TAIL_FRACTION:
        sig *= TAIL_SCALE
    return sig * np.random.normal()


def reconstruct(
    parts: np.ndarray, off: np.ndarray, zpv: np.ndarray, seed: int, far: Far | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tracks of every event: (table (n, N_K), per-event offsets, counters (n_ev, N_S)).
    ``parts`` columns as in ``record.Record.parts``; z already includes each interaction's
    vertex z. ``far``: pileup vertices whose tracks come from the pool response (shifted to
    their vertex z and rotated), before the event's fakes and merged-track search."""
    if far is None:
        empty = np.zeros(0, dtype=np.int64)
        no_pool = (np.zeros((0, N_K)), np.zeros(1, dtype=np.int64), np.zeros((0, N_S), np.int64))
        args = (np.zeros(len(off), dtype=np.int64), empty, np.zeros(0), np.zeros(0))
    else:
        r = far.response
        no_pool = (r.tracks, r.toff, r.stats)
        args = (far.off, far.pick, far.z, far.angle)
    return _reconstruct(parts, off, zpv, seed, *no_pool, *args)


@njit(cache=True)
def _reconstruct(
    parts: np.ndarray,
    off: np.ndarray,
    zpv: np.ndarray,
    seed: int,
    ptrk: np.ndarray,
    ptoff: np.ndarray,
    pstats: np.ndarray,
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
    out = np.empty((len(parts) + 64 * n_ev + n_far, N_K))
    toff = np.zeros(n_ev + 1, dtype=np.int64)
    stats = np.zeros((n_ev, N_S), dtype=np.int64)
    k = 0
    for ev in range(n_ev):
        first = k
        k = _event_tracks(parts, off[ev], off[ev + 1], zpv[ev], out, k, stats[ev])
        for v in range(foff[ev], foff[ev + 1]):
            e = fpick[v]
            k = moved(ptrk, ptoff[e], ptoff[e + 1], fz[v] - zpv[ev], fangle[v], out, k)
            stats[ev] += pstats[e]
        n_real = k - first
        n_fake = np.random.poisson(FAKE_RATE * n_real)
        for _ in range(n_fake if n_real > 0 else 0):
            k = _fake_track(out, first + np.random.randint(n_real), out, k)
        toff[ev + 1] = k
    trk, toff, merged = merge_tracks(out[:k], toff)
    stats[:, S_MERGED] = merged
    return trk, toff, stats


@njit(cache=True)
def real_tracks(
    parts: np.ndarray, off: np.ndarray, zpv: np.ndarray, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The tracks of the particles alone (no fakes, no merging), per event, with counters."""
    np.random.seed(seed)
    n_ev = len(off) - 1
    out = np.empty((len(parts) + 64 * n_ev, N_K))
    toff = np.zeros(n_ev + 1, dtype=np.int64)
    stats = np.zeros((n_ev, N_S), dtype=np.int64)
    for ev in range(n_ev):
        toff[ev + 1] = _event_tracks(parts, off[ev], off[ev + 1], zpv[ev], out, toff[ev], stats[ev])
    return out[: toff[-1]].copy(), toff, stats


@njit(cache=True)
def _event_tracks(
    parts: np.ndarray, lo: int, hi: int, zpv: float, out: np.ndarray, k: int, stats: np.ndarray
) -> int:
    for i in range(lo, hi):
        if parts[i, 0] ** 2 + parts[i, 1] ** 2 < PT_MIN**2:
            continue  # no track, conversion pair or secondary above PT_MIN from it
        k = _particle(parts[i], i, zpv, out, k, stats)
    return k


@njit(cache=True)
def moved(
    src: np.ndarray, lo: int, hi: int, dz: float, angle: float, out: np.ndarray, k: int
) -> int:
    """Rows lo:hi of ``src`` as rows k... of ``out``: z0 shifted by dz, rotated by angle."""
    c, s = np.cos(angle), np.sin(angle)
    for t in range(lo, hi):
        out[k] = src[t]
        x, y = src[t, K_X], src[t, K_Y]
        out[k, K_X], out[k, K_Y] = c * x - s * y, s * x + c * y
        out[k, K_PHI] = (src[t, K_PHI] + angle + np.pi) % (2.0 * np.pi) - np.pi
        out[k, K_Z0] += dz
        k += 1
    return k


@njit(cache=True)
def _in_acceptance(p: np.ndarray) -> tuple[float, float]:
    """(pT, eta) of particle row ``p``; eta = 99 outside |eta| < ETA_MAX."""
    pt = np.hypot(p[0], p[1])
    if pt <= 0.0:
        return pt, 99.0
    eta = np.arcsinh(p[2] / pt)
    return pt, (eta if abs(eta) < ETA_MAX else 99.0)


@njit(cache=True)
def _particle(p: np.ndarray, i: int, zpv: float, out: np.ndarray, k: int, stats: np.ndarray) -> int:
    """Tracks of particle row ``p`` (index i): its own, or its conversion pair, plus the
    secondaries of a nuclear interaction."""
    pt, eta = _in_acceptance(p)
    if eta == 99.0:
        return k
    r_prod = np.hypot(p[4], p[5])
    if p[8] == 22.0:
        return _photon(p, pt, eta, r_prod, zpv, out, k, stats)
    if not mat.is_hadron(p[8]) or pt < PT_MIN:
        return _track(p, p[7], i, PRIMARY, zpv, out, k) if p[7] != 0.0 else k
    li = mat.first_interaction(r_prod, eta, mat.LAMBDA_PER_X0)
    if li < 0 or mat.LAYER_R_MM[li] >= R_MAX_MM:
        return _track(p, p[7], i, PRIMARY, zpv, out, k) if p[7] != 0.0 else k
    stats[S_NUCL] += 1
    if p[7] != 0.0 and mat.LAYER_R_MM[li] >= mat.R_LOST_MM:
        k = _track(p, p[7], i, PRIMARY, zpv, out, k)
    sec = np.empty((6, 8))
    for n in range(mat.nuclear_secondaries(p, mat.LAYER_R_MM[li], sec)):
        k = _track(sec[n], sec[n, 7], -1, NUCLEAR, zpv, out, k)
    return k


@njit(cache=True)
def _photon(
    p: np.ndarray,
    pt: float,
    eta: float,
    r_prod: float,
    zpv: float,
    out: np.ndarray,
    k: int,
    stats: np.ndarray,
) -> int:
    if pt < mat.PHOTON_PT_MIN:
        return k
    central = abs(eta) < ETA_CENTRAL
    stats[S_GAMMA] += 1
    stats[S_GAMMA_C] += central
    li = mat.first_interaction(r_prod, eta, mat.CONVERSION_PER_X0)
    if li < 0 or mat.LAYER_R_MM[li] >= R_MAX_MM:
        return k
    stats[S_CONV] += 1
    stats[S_CONV_C] += central
    pair = np.empty((2, 8))
    mat.conversion_pair(p, mat.LAYER_R_MM[li], pair)
    for n in range(2):
        k = _track(pair[n], pair[n, 7], -1, CONVERSION, zpv, out, k)
    return k


@njit(cache=True)
def _track(
    p: np.ndarray, q: float, i: int, origin: int, zpv: float, out: np.ndarray, k: int
) -> int:
    """Reconstruct particle row ``p`` (px py pz e x y z ...) of charge q as row k of ``out``
    (or not: acceptance, pT, efficiency); returns the next free row."""
    px, py, pz = p[0], p[1], p[2]
    pt = np.hypot(px, py)
    if pt < PT_MIN:
        return k
    eta = np.arcsinh(pz / pt)
    if abs(eta) > ETA_MAX:
        return k
    x, y, z = p[4], p[5], p[6]
    r_prod = np.hypot(x, y)
    if np.random.random() >= efficiency(pt, eta, r_prod):
        return k
    if k >= len(out):
        raise ValueError("track table full: more tracks than particles + 64 per event")
    fx, fy, arc, phi = perigee(px, py, x, y, q)
    sd0, sz0 = sigma_d0(pt, eta), sigma_z0(pt, eta)
    d = _smear(sd0)  # displace the perigee across the track direction
    res_pt = np.hypot(0.007, 0.00015 * pt) * (1.0 + 0.3 * eta * eta)
    out[k, K_PT] = pt * max(0.05, 1.0 + _smear(res_pt))
    out[k, K_ETA] = eta
    out[k, K_PHI] = phi
    out[k, K_X] = fx - d * np.sin(phi)
    out[k, K_Y] = fy + d * np.cos(phi)
    out[k, K_Z0] = z + arc * pz / pt - zpv + _smear(sz0)
    out[k, K_SD0] = sd0
    out[k, K_SZ0] = sz0
    out[k, K_FAKE] = 0.0
    out[k, K_PART] = i
    out[k, K_ORIGIN] = origin
    out[k, K_Q] = q
    out[k, K_RPROD] = r_prod
    return k + 1


@njit(cache=True)
def _fake_track(src: np.ndarray, j: int, out: np.ndarray, k: int) -> int:
    if k >= len(out):
        raise ValueError("track table full: more tracks than particles + 64 per event")
    pt = PT_MIN + np.random.exponential(1.0)
    eta = min(ETA_MAX, max(-ETA_MAX, src[j, K_ETA] + 0.05 * np.random.normal()))
    phi = src[j, K_PHI] + 0.05 * np.random.normal()
    d0 = np.random.laplace(0.0, 0.3)
    out[k, K_PT] = pt
    out[k, K_ETA] = eta
    out[k, K_PHI] = phi
    out[k, K_X] = -d0 * np.sin(phi)
    out[k, K_Y] = d0 * np.cos(phi)
    out[k, K_Z0] = np.random.laplace(0.0, 1.0)
    out[k, K_SD0] = sigma_d0(pt, eta)
    out[k, K_SZ0] = sigma_z0(pt, eta)
    out[k, K_FAKE] = 1.0
    out[k, K_PART] = -1
    out[k, K_ORIGIN] = FAKE
    out[k, K_Q] = 1.0 if np.random.random() < 0.5 else -1.0
    out[k, K_RPROD] = 0.0
    return k + 1


STAT_NAMES = ("n_photons", "n_conversions", "n_photons_central", "n_conversions_central")
STAT_NAMES += ("n_nuclear", "n_merged")


def tracking_truth(stats: np.ndarray) -> dict[str, np.ndarray]:
    """The per-event counters of :func:`reconstruct` as ``truth`` fields (int32)."""
    return {name: stats[:, i].astype(np.int32) for i, name in enumerate(STAT_NAMES)}
