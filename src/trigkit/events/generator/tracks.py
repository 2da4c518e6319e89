"""Tracks of a small-R jet with lifetime-signed impact parameters (numba).

Heavy-hadron tracks: the hadron carries a fraction x of the jet momentum, flies
L = (p / m) c tau Exp(1) (B: c tau = 0.455 mm; D0/D+/Ds/Lambda_c: 0.123/0.312/0.151/0.060 mm)
along a direction ~0.02 rad off the jet axis, and its decay products leave at an angle
p* / pT (p* ~ N(0, 1.0 GeV) for B, 0.5 GeV for D). Half of the B tracks come from the cascade
D vertex (an extra D flight). True IPs: d0 = L_T |sin(alpha_phi)|, z0 = L_T cosh(eta) |alpha_eta|,
lifetime sign = sign(track-jet angle x track-hadron angle) per projection.

Fragmentation tracks are prompt; 3% are V0 daughters (K_S, c tau = 26.8 mm) and 0.5% come from
material interactions (|d0| ~ Exp(1.5 mm)), with random sign. Pileup-jet tracks sit at their
vertex's z (``dz``; per-track vertices for stochastic jets, NaN dz).

Measurement: sigma(d0) = 12 um (+) 85 um sqrt(cosh eta) / pT,
sigma(z0) = 30 um (+) 100 um cosh^1.5(eta) / pT
(pT in GeV); core Gaussian with 2.5% of tracks x3 and 0.5% x10 wider (non-Gaussian tails).
Tracks are sorted by decreasing |d0 / sigma(d0)|.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from trigkit.events.generator.constants import (
    CTAU_B,
    CTAU_D,
    CTAU_KS,
    HCODE_B,
    HCODE_B_GSPLIT,
    HCODE_D0,
    JET_R,
    M_BHAD,
    M_D,
    M_KS,
    TRACK_PT_MIN,
)
from trigkit.events.generator.rng import exponential, normal, uniform

# output columns of the flat float32 track table
T_PT, T_DETA, T_DPHI, T_D0, T_Z0, T_D0SIG, T_Z0SIG = range(7)
N_TRACK_COLS = 7


@njit(cache=True)
def sigma_d0(pt: float, eta: float) -> float:
    return np.sqrt(0.012**2 + (0.085 * np.sqrt(np.cosh(eta)) / pt) ** 2)


@njit(cache=True)
def sigma_z0(pt: float, eta: float) -> float:
    return np.sqrt(0.030**2 + (0.100 * np.cosh(eta) ** 1.5 / pt) ** 2)


@njit(cache=True)
def smear(st: np.ndarray) -> float:
    """Resolution pull with non-Gaussian tails."""
    u = uniform(st)
    scale = 10.0 if u < 0.005 else 3.0 if u < 0.03 else 1.0
    return scale * normal(st)


@njit(cache=True)
def signed(value: float, sign_arg: float) -> float:
    return abs(value) if sign_arg >= 0.0 else -abs(value)


@njit(cache=True)
def split_pt(st: np.ndarray, budget: float, n: int, out: np.ndarray) -> None:
    """Share ``budget`` GeV among n tracks (broken stick), each at least TRACK_PT_MIN."""
    total = 0.0
    for i in range(n):
        out[i] = exponential(st)
        total += out[i]
    free = max(0.0, budget - n * TRACK_PT_MIN)
    for i in range(n):
        out[i] = TRACK_PT_MIN + free * out[i] / total


@njit(cache=True)
def hadron_track_ip(
    st: np.ndarray,
    pt: float,
    cosh_eta: float,
    had_eta: float,
    had_phi: float,
    pstar: float,
    flight: float,
    cascade: float,
) -> tuple[float, float, float, float]:
    """(deta, dphi, true d0, true z0) of a heavy-hadron decay track, lifetime-signed."""
    a_phi = pstar * normal(st) / pt
    a_eta = pstar * normal(st) / pt
    dphi = had_phi + a_phi
    deta = had_eta + a_eta
    if cascade > 0.0 and uniform(st) < 0.5:
        flight += cascade  # from the secondary D vertex of a B -> D cascade
    d0 = signed(flight * np.sin(min(abs(a_phi), 1.5)), dphi * a_phi)
    z0 = signed(flight * cosh_eta * min(abs(a_eta), 1.5), deta * a_eta)
    return deta, dphi, d0, z0


@njit(cache=True)
def prompt_track_ip(
    st: np.ndarray, pt: float, cosh_eta: float, dz: float
) -> tuple[float, float, float, float]:
    """(deta, dphi, true d0, true z0) of a fragmentation / pileup track (incl. V0 and material)."""
    width = 0.03 + 0.25 / np.sqrt(pt)
    dphi = width * normal(st)
    deta = width * normal(st)
    d0 = 0.0
    z0 = 0.0
    u = uniform(st)
    if dz != 0.0:  # pileup jet
        z0 = dz if not np.isnan(dz) else 60.0 * normal(st)
        if uniform(st) < 0.1:
            z0 = 0.0  # underlying-event track from the primary vertex
        z0 = signed(z0, -deta * z0)  # lifetime sign: (eta_jet - eta_track) x z0
    elif u < 0.03:  # K_S daughter
        flight = 2.0 * pt * cosh_eta / M_KS * CTAU_KS * exponential(st) / cosh_eta
        a = 0.206 * normal(st) / pt
        d0 = (1.0 if uniform(st) < 0.7 else -1.0) * min(flight * abs(a), 25.0)
        z0 = (1.0 if uniform(st) < 0.7 else -1.0) * min(flight * cosh_eta * abs(a), 50.0)
    elif u < 0.035:  # material interaction
        d0 = (1.0 if uniform(st) < 0.5 else -1.0) * 1.5 * exponential(st)
        z0 = 2.0 * normal(st)
    return deta, dphi, d0, z0


@njit(cache=True)
def jet_tracks(
    st: np.ndarray,
    jet_pt: float,
    jet_eta: float,
    hcode: int,
    xhad: float,
    dz: float,
    nhad: int,
    nfrag: int,
    out: np.ndarray,
) -> None:
    """Fill rows 0..nhad+nfrag-1 of ``out`` (float32 columns above), sorted by decreasing
    |d0_sig|."""
    ntot = nhad + nfrag
    pts = np.empty(ntot)
    if nhad > 0:
        split_pt(st, 0.7 * xhad * jet_pt, nhad, pts[:nhad])
    if nfrag > 0:
        split_pt(st, 0.6 * (1.0 - xhad) * jet_pt, nfrag, pts[nhad:])
    cosh_eta = np.cosh(jet_eta)
    is_b = hcode == HCODE_B or hcode == HCODE_B_GSPLIT
    mhad = M_BHAD if is_b else M_D
    ctau = CTAU_B if is_b else (CTAU_D[hcode - HCODE_D0] if hcode >= HCODE_D0 else 0.0)
    pstar = 1.0 if is_b else 0.5
    had_phi = 0.02 * normal(st)
    had_eta = 0.02 * normal(st)
    lt = xhad * jet_pt / mhad * ctau * exponential(st) if nhad > 0 else 0.0  # transverse flight
    lt_d = xhad * jet_pt * 0.6 / M_D * CTAU_D[int(2.0 * uniform(st))] * exponential(st)
    for t in range(ntot):
        pt = pts[t]
        if t < nhad:
            deta, dphi, d0, z0 = hadron_track_ip(
                st, pt, cosh_eta, had_eta, had_phi, pstar, lt, lt_d if is_b else 0.0
            )
        else:
            deta, dphi, d0, z0 = prompt_track_ip(st, pt, cosh_eta, dz)
        dphi = min(max(dphi, -JET_R), JET_R)
        deta = min(max(deta, -JET_R), JET_R)
        sd = sigma_d0(pt, jet_eta + deta)
        sz = sigma_z0(pt, jet_eta + deta)
        d0m = d0 + sd * smear(st)
        z0m = z0 + sz * smear(st)
        out[t, T_PT], out[t, T_DETA], out[t, T_DPHI] = pt, deta, dphi
        out[t, T_D0], out[t, T_Z0] = d0m, z0m
        out[t, T_D0SIG], out[t, T_Z0SIG] = d0m / sd, z0m / sz
    sort_by_abs_column(out, ntot, T_D0SIG)


@njit(cache=True)
def sort_by_abs_column(out: np.ndarray, n: int, col: int) -> None:
    """In-place insertion sort of rows 0..n-1 by decreasing |out[:, col]|."""
    ncol = out.shape[1]
    row = np.empty(ncol, dtype=out.dtype)
    for i in range(1, n):
        key = abs(out[i, col])
        if key <= abs(out[i - 1, col]):
            continue
        row[:] = out[i, :]
        j = i - 1
        while j >= 0 and abs(out[j, col]) < key:
            out[j + 1, :] = out[j, :]
            j -= 1
        out[j + 1, :] = row
