"""Calorimeter inputs, towers and the pileup density, in numba.

Offline jets are clustered from a particle-flow-like input: charged particles inside the tracker
(|eta| < 2.5, pT > 0.5 GeV) as themselves, minus those from a pileup vertex more than 1 mm
from the primary one (charged-hadron subtraction, CMS JINST 12 (2017) P10003); everything else
(neutrals, forward charged) summed into 0.087 x 0.087 towers out to |eta| = 4.7; each tower
loses the neutral pileup expected in its area (median neutral density of the event's 0.5 x 0.52
cells in |eta| < 2.5, times the tower area: a tower-level area subtraction) and is kept above
0.5 GeV. The pileup pT density rho is the median over a 0.5 x 0.52 grid in |eta| < 2.5 (CMS
``fixedGridRho``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from trigkit.events.pythia.far import Far, add_far_deposits, sum_by_bin

TOWER = 0.087
N_PHI = 72  # 2 pi / 72 = 0.0873
ETA_CALO = 4.7
ETA_TRACKER = 2.5
TOWER_MIN_PT = 0.5
CHS_DZ_MM = 1.0
N_ETA = int(round(2 * ETA_CALO / TOWER)) + 1

# columns of parts: px py pz e x y z charge pid is_pu z_vertex
P_PU, P_ZV = 9, 10
# columns of the calo-input table
C_PX, C_PY, C_PZ, C_E, C_PTHS, C_PART = range(6)


@njit(cache=True)
def _eta(px: float, py: float, pz: float) -> float:
    pt = np.hypot(px, py)
    return np.arcsinh(pz / pt) if pt > 0 else (20.0 if pz > 0 else -20.0)


def calo_inputs(
    parts: np.ndarray, off: np.ndarray, zpv: np.ndarray, far: Far | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(table (n, 6) px py pz E pt_hs particle-index-or--1, per-event offsets). ``far``:
    pileup vertices whose tower deposits come from the pool response (their charged tracks
    all fail charged-hadron subtraction: they lie beyond ``far.NEAR_DZ_MM``)."""
    if far is None:
        e, none = np.zeros(0, dtype=np.int64), np.zeros(len(off), dtype=np.int64)
        return _calo_inputs(parts, off, zpv, e, np.zeros(0), np.zeros(1, np.int64), none, e, e)
    d = far.response.calo
    return _calo_inputs(parts, off, zpv, d.bins, d.val, d.off, far.off, far.pick, far.rot)


@njit(cache=True)
def _tower_of(p: np.ndarray) -> tuple[int, int, float, bool]:
    """(ie, ip, pT, is a charged track) of particle row ``p``; ie = -1 outside the
    calorimeter. Charged tracks (|eta| < 2.5, pT > 0.5 GeV) are particle-flow inputs."""
    px, py, pz = p[0], p[1], p[2]
    pt = np.hypot(px, py)
    if pt <= 0.0:
        return -1, 0, pt, False
    eta = np.arcsinh(pz / pt)
    if abs(eta) >= ETA_CALO:
        return -1, 0, pt, False
    if p[7] != 0 and abs(eta) < ETA_TRACKER and pt > 0.5:
        return 0, 0, pt, True
    ie = int((eta + ETA_CALO) / TOWER)
    ip = int((np.arctan2(py, px) + np.pi) / (2 * np.pi) * N_PHI) % N_PHI
    return ie, ip, pt, False


@njit(cache=True)
def _calo_inputs(
    parts: np.ndarray,
    off: np.ndarray,
    zpv: np.ndarray,
    dbins: np.ndarray,
    dval: np.ndarray,
    doff: np.ndarray,
    foff: np.ndarray,
    fpick: np.ndarray,
    frot: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    n_ev = len(off) - 1
    n_dep = 0  # each row comes from a particle or a deposit: a bound on the table's length
    for v in range(len(fpick)):
        n_dep += doff[fpick[v] + 1] - doff[fpick[v]]
    out = np.empty((len(parts) + n_dep, 6))
    coff = np.zeros(n_ev + 1, dtype=np.int64)
    k = 0
    for ev in range(n_ev):
        grid = np.zeros((N_ETA, N_PHI, 2))  # pt, pt from the hard scatter
        for i in range(off[ev], off[ev + 1]):
            ie, ip, pt, charged = _tower_of(parts[i])
            if ie < 0:
                continue
            is_pu = parts[i, P_PU] > 0
            if charged:
                if is_pu and abs(parts[i, P_ZV] - zpv[ev]) > CHS_DZ_MM:
                    continue  # charged-hadron subtraction
                out[k, :4] = parts[i, :4]
                out[k, C_PTHS] = 0.0 if is_pu else pt
                out[k, C_PART] = i - off[ev]
                k += 1
                continue
            grid[ie, ip, 0] += pt
            if not is_pu:
                grid[ie, ip, 1] += pt
        add_far_deposits(grid[:, :, 0], ev, dbins, dval, doff, foff, fpick, frot)
        k = _emit_towers(grid, out, k, _neutral_rho(grid) * TOWER * 2 * np.pi / N_PHI)
        coff[ev + 1] = k
    return out[:k], coff


def tower_deposits(parts: np.ndarray, off: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per event, the summed pT of the particles that reach the towers (not charged tracks)
    in each tower it touches: (bins ie x N_PHI + ip, pT, per-event offsets)."""
    return sum_by_bin(*_neutral_bins(parts), off, N_ETA * N_PHI)


@njit(cache=True)
def _neutral_bins(parts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per particle, its tower bin (-1: no tower deposit, or a charged track) and pT."""
    bins = np.full(len(parts), -1, dtype=np.int64)
    val = np.zeros(len(parts))
    for i in range(len(parts)):
        ie, ip, pt, charged = _tower_of(parts[i])
        if ie >= 0 and not charged:
            bins[i], val[i] = ie * N_PHI + ip, pt
    return bins, val


@njit(cache=True)
def _neutral_rho(grid: np.ndarray) -> float:
    """Median tower pT density (GeV per unit area) over 0.5 x 0.52 cells in |eta| < 2.5."""
    ne, nphi = 10, 12
    cells = np.zeros(ne * nphi)
    for ie in range(grid.shape[0]):
        eta = -ETA_CALO + (ie + 0.5) * TOWER
        if abs(eta) >= ETA_TRACKER:
            continue
        ce = int((eta + ETA_TRACKER) / (2 * ETA_TRACKER) * ne)
        for ip in range(N_PHI):
            cells[ce * nphi + ip * nphi // N_PHI] += grid[ie, ip, 0]
    return np.median(cells) / ((2 * ETA_TRACKER / ne) * (2 * np.pi / nphi))


@njit(cache=True)
def _emit_towers(grid: np.ndarray, out: np.ndarray, k: int, sub: float) -> int:
    for ie in range(grid.shape[0]):
        eta = -ETA_CALO + (ie + 0.5) * TOWER
        for ip in range(N_PHI):
            raw = grid[ie, ip, 0]
            pt = raw - sub
            if pt < TOWER_MIN_PT:
                continue
            phi = -np.pi + (ip + 0.5) * 2 * np.pi / N_PHI
            out[k, 0], out[k, 1] = pt * np.cos(phi), pt * np.sin(phi)
            out[k, 2], out[k, 3] = pt * np.sinh(eta), pt * np.cosh(eta)
            out[k, C_PTHS] = grid[ie, ip, 1] * pt / raw
            out[k, C_PART] = -1
            k += 1
    return k


@njit(cache=True)
def rho(table: np.ndarray, coff: np.ndarray) -> np.ndarray:
    """Median pT density (GeV per unit eta-phi area) of each event's calo inputs."""
    n_ev = len(coff) - 1
    out = np.zeros(n_ev)
    ne, nphi = 10, 12
    area = (2 * ETA_TRACKER / ne) * (2 * np.pi / nphi)
    for ev in range(n_ev):
        cells = np.zeros(ne * nphi)
        for i in range(coff[ev], coff[ev + 1]):
            px, py = table[i, 0], table[i, 1]
            eta = _eta(px, py, table[i, 2])
            if abs(eta) >= ETA_TRACKER:
                continue
            ie = int((eta + ETA_TRACKER) / (2 * ETA_TRACKER) * ne)
            ip = int((np.arctan2(py, px) + np.pi) / (2 * np.pi) * nphi) % nphi
            cells[ie * nphi + ip] += np.hypot(px, py)
        out[ev] = np.median(cells) / area
    return out
