"""The Level-1 calorimeter tower grid, shared by the L1 objects (:mod:`l1`) and their MET
pileup mitigation (:mod:`l1_pum`): 0.087 x 0.087 towers in |eta| < 3, 72 in phi, a tower kept
above 0.5 GeV (CMS Stage-2, JINST 15 (2020) P10017)."""

from __future__ import annotations

import numpy as np
from numba import njit

TOWER = 0.087
ETA_MAX = 3.0
N_ETA = 69  # 2 x 3.0 / 0.087
N_PHI = 72
TOWER_MIN = 0.5


@njit(cache=True)
def eta_centre(ie: int) -> float:
    """eta at the centre of tower row ``ie``."""
    return -ETA_MAX + (ie + 0.5) * TOWER


@njit(cache=True)
def phi_centre(ip: int) -> float:
    """phi at the centre of tower column ``ip``."""
    return -np.pi + (ip + 0.5) * 2 * np.pi / N_PHI


@njit(cache=True)
def apply_tower_min(grid: np.ndarray, hs: np.ndarray) -> None:
    """Zero the towers of ``grid`` below ``TOWER_MIN`` and the same towers of ``hs`` (its
    hard-scatter part; may be ``grid`` itself)."""
    for ie in range(N_ETA):
        for ip in range(N_PHI):
            if grid[ie, ip] < TOWER_MIN:
                grid[ie, ip] = 0.0
                hs[ie, ip] = 0.0
