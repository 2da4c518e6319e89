"""Level-1 calorimeter objects, in numba: towers, L1 jets (9x9 sliding window) and their pT.

The calorimeter trigger sees every visible particle of the hard scatter and of all pileup in the
towers (0.087 x 0.087, |eta| < 3, 72 in phi). Tower ET = sum of pT x response (e/gamma 1.0,
hadrons 0.75: the uncalibrated HCAL response of CMS, JINST 15 (2020) P10017), above 0.5 GeV.
L1 jets follow the Phase-1 Stage-2 algorithm of that paper: a seed tower >= 4 GeV that is the
maximum of its 9x9 window; jet ET = window sum minus the pileup in it (9 x the mean tower ET of
each of its 9 eta rings, a ring-average stand-in for the paper's "chunky donut"),
divided by the mean response (calibration) and smeared by 1.5 / sqrt(ET) (+) 8 %; kept above
20 GeV. Each L1 jet also carries the mass of its window's towers (massless at the tower centres,
scaled like its ET) and the hard-scatter fraction of the window ET (truth, for the labels).
L1 HT (:func:`l1_ht`) = sum of L1 jets with ET > 30 GeV and |eta| < 2.5.
L1 MET (:func:`l1_met`) = magnitude of minus the vector sum of the tower ET in |eta| < 3 (the
Stage-2 ETM without HF, same paper), towers below their pileup-mitigation threshold left out
(:mod:`l1_pum`: by |eta| ring and the event's pileup estimate, measured on the pileup pool).
"""

from __future__ import annotations

import awkward as ak
import numpy as np
from numba import njit

from trigkit.events.pythia import l1_pum
from trigkit.events.pythia.far import Far, add_far_deposits, sum_by_bin
from trigkit.events.pythia.l1_grid import (
    ETA_MAX,
    N_ETA,
    N_PHI,
    TOWER,
    apply_tower_min,
    eta_centre,
    phi_centre,
)

SEED_ET = 4.0
HADRON_RESPONSE = 0.75
CALIBRATION = 0.8
L1JET_MIN = 20.0
# CMSSW's 2018/2022 L1 calo parameters: HTT from jets above 30 GeV with |ieta| <= 26, whose
# outer tower edge is |eta| 2.5 (the shipped menus' 'er' HT sums use the same acceptance)
HT_JET_MIN, HT_ETA_MAX = 30.0, 2.5


@njit(cache=True)
def _deposit(p: np.ndarray) -> tuple[int, float]:
    """(tower bin ie x N_PHI + ip or -1, ET) of particle row ``p`` (muons leave none)."""
    px, py, pz = p[0], p[1], p[2]
    pt = np.hypot(px, py)
    pid = abs(p[8])
    if pt <= 0 or pid == 13:
        return -1, 0.0
    eta = np.arcsinh(pz / pt)
    if abs(eta) >= ETA_MAX:
        return -1, 0.0
    ie = min(N_ETA - 1, int((eta + ETA_MAX) / TOWER))
    ip = int((np.arctan2(py, px) + np.pi) / (2 * np.pi) * N_PHI) % N_PHI
    return ie * N_PHI + ip, pt * (1.0 if pid == 22 or pid == 11 else HADRON_RESPONSE)


@njit(cache=True)
def _add(parts: np.ndarray, lo: int, hi: int, grid: np.ndarray, hs: np.ndarray) -> None:
    """Add the tower ET of particle rows lo:hi (``grid``) and its hard-scatter part (``hs``:
    particles with is_pu = 0)."""
    flat, flat_hs = grid.reshape(-1), hs.reshape(-1)
    for i in range(lo, hi):
        b, et = _deposit(parts[i])
        if b < 0:
            continue
        flat[b] += et
        if parts.shape[1] <= 9 or parts[i, 9] == 0.0:
            flat_hs[b] += et


@njit(cache=True)
def _fill(parts: np.ndarray, lo: int, hi: int, grid: np.ndarray, hs: np.ndarray) -> None:
    """Tower ET (``grid``) and its hard-scatter part (``hs``), after the tower threshold."""
    _add(parts, lo, hi, grid, hs)
    apply_tower_min(grid, hs)


@njit(cache=True)
def towers(parts: np.ndarray, lo: int, hi: int) -> np.ndarray:
    grid = np.zeros((N_ETA, N_PHI))
    _fill(parts, lo, hi, grid, np.zeros((N_ETA, N_PHI)))
    return grid


def tower_deposits(parts: np.ndarray, off: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per event, the ET each touched tower gets before the threshold: (bins ie x N_PHI + ip,
    ET, per-event offsets)."""
    return sum_by_bin(*_deposit_bins(parts), off, N_ETA * N_PHI)


@njit(cache=True)
def _deposit_bins(parts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per particle, its L1 tower bin (-1: none) and ET (:func:`_deposit`)."""
    bins = np.empty(len(parts), dtype=np.int64)
    val = np.empty(len(parts))
    for i in range(len(parts)):
        bins[i], val[i] = _deposit(parts[i])
    return bins, val


@njit(cache=True)
def _is_seed(grid: np.ndarray, ie: int, ip: int) -> bool:
    et = grid[ie, ip]
    for de in range(-4, 5):
        for dp in range(-4, 5):
            je, jp = ie + de, (ip + dp) % N_PHI
            if (de == 0 and dp == 0) or je < 0 or je >= N_ETA:
                continue
            other = grid[je, jp]
            if other > et or (other == et and (de, dp) < (0, 0)):
                return False
    return True


@njit(cache=True)
def _window(grid: np.ndarray, ie: int, ip: int) -> float:
    s = 0.0
    for de in range(-4, 5):
        for dp in range(-4, 5):
            je = ie + de
            if 0 <= je < N_ETA:
                s += grid[je, (ip + dp) % N_PHI]
    return s


@njit(cache=True)
def _window_mass(grid: np.ndarray, ie: int, ip: int) -> float:
    """Invariant mass of the 9x9 window's towers, massless at the tower centres."""
    e, px, py, pz = 0.0, 0.0, 0.0, 0.0
    for de in range(-4, 5):
        je = ie + de
        if je < 0 or je >= N_ETA:
            continue
        eta = eta_centre(je)
        for dp in range(-4, 5):
            jp = (ip + dp) % N_PHI
            et = grid[je, jp]
            phi = phi_centre(jp)
            e += et * np.cosh(eta)
            px += et * np.cos(phi)
            py += et * np.sin(phi)
            pz += et * np.sinh(eta)
    return np.sqrt(max(0.0, e * e - px * px - py * py - pz * pz))


#: columns of :func:`l1_jets`' jet table
L_PT, L_ETA, L_PHI, L_MASS, L_HS = range(5)
N_L = 5


def l1_objects(
    parts: np.ndarray,
    off: np.ndarray,
    seed: int,
    far: Far | None = None,
    pum: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(jets (n, N_L): pt eta phi mass hs_frac, per-event counts, MET (n_ev, 2)) of every event
    of the chunk, from one tower grid per event. ``far``: pileup vertices whose tower ET comes
    from the pool response (added before the tower threshold). ``pum``: the MET's tower
    thresholds (:mod:`l1_pum`); by default the pool's with ``far``, none without."""
    if pum is None:
        pum = l1_pum.no_thresholds() if far is None else far.response.l1_pum
    if far is None:
        e, none = np.zeros(0, dtype=np.int64), np.zeros(len(off), dtype=np.int64)
        d0 = np.zeros(1, np.int64)
        return _l1_objects(parts, off, seed, e, np.zeros(0), d0, none, e, e, pum)
    d = far.response.l1
    return _l1_objects(parts, off, seed, d.bins, d.val, d.off, far.off, far.pick, far.rot, pum)


def l1_jets(parts: np.ndarray, off: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(jets (n, N_L): pt eta phi mass hs_frac, per-event counts) of every event of the chunk."""
    jets, counts, _ = l1_objects(parts, off, seed)
    return jets, counts


def l1_met(parts: np.ndarray, off: np.ndarray) -> np.ndarray:
    """(n_ev, 2): L1 MET (GeV) and its phi of every event of the chunk, from the towers."""
    return l1_objects(parts, off, 0)[2]


@njit(cache=True)
def _l1_objects(
    parts: np.ndarray,
    off: np.ndarray,
    seed: int,
    dbins: np.ndarray,
    dval: np.ndarray,
    doff: np.ndarray,
    foff: np.ndarray,
    fpick: np.ndarray,
    frot: np.ndarray,
    pum: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    np.random.seed(seed)
    n_ev = len(off) - 1
    out = np.empty((n_ev * 64, N_L))
    counts = np.zeros(n_ev, dtype=np.int64)
    met = np.zeros((n_ev, 2))
    k = 0
    for ev in range(n_ev):
        grid = np.zeros((N_ETA, N_PHI))
        hs = np.zeros((N_ETA, N_PHI))
        _add(parts, off[ev], off[ev + 1], grid, hs)
        add_far_deposits(grid, ev, dbins, dval, doff, foff, fpick, frot)
        apply_tower_min(grid, hs)
        k = _event_jets(grid, hs, out, k, counts, ev)
        met[ev] = l1_pum.met(grid, pum)
    return out[:k], counts, met


@njit(cache=True)
def _event_jets(
    grid: np.ndarray, hs: np.ndarray, out: np.ndarray, k: int, counts: np.ndarray, ev: int
) -> int:
    ring = np.zeros(N_ETA)
    for ie in range(N_ETA):
        ring[ie] = 9.0 * grid[ie].mean()
    for ie in range(N_ETA):
        for ip in range(N_PHI):
            if grid[ie, ip] < SEED_ET or not _is_seed(grid, ie, ip) or k >= len(out):
                continue
            pu = ring[max(0, ie - 4) : min(N_ETA, ie + 5)].sum()
            window = _window(grid, ie, ip)
            et = max(0.0, window - pu) / CALIBRATION
            if et <= 0:
                continue
            et *= 1.0 + np.hypot(1.5 / np.sqrt(et), 0.08) * np.random.normal()
            if et < L1JET_MIN:
                continue
            out[k, L_PT] = et
            out[k, L_ETA] = eta_centre(ie)
            out[k, L_PHI] = phi_centre(ip)
            out[k, L_MASS] = _window_mass(grid, ie, ip) * et / window
            out[k, L_HS] = _window(hs, ie, ip) / window
            counts[ev] += 1
            k += 1
    return k


def to_awkward(jets: np.ndarray, counts: np.ndarray) -> ak.Array:
    """L1 jets as ``var * {pt, eta, phi}``, ordered by decreasing pt."""
    arr = ak.unflatten(
        ak.zip({k: jets[:, i].astype(np.float32) for i, k in enumerate(("pt", "eta", "phi"))}),
        counts,
    )
    return arr[ak.argsort(arr.pt, axis=1, ascending=False)]


def l1_ht(l1jets: ak.Array) -> np.ndarray:
    """L1 HT per event (GeV): L1 jets with pt > 30 GeV and |eta| < 2.5."""
    sel = (l1jets.pt > HT_JET_MIN) & (abs(l1jets.eta) < HT_ETA_MAX)
    return ak.to_numpy(ak.sum(l1jets.pt[sel], axis=1)).astype(np.float64)
