"""Per-event parton record (numba): a struct of arrays the hard processes fill.

``part[i] = (px, py, pz, E)``, ``pid[i]`` = |PDG id| (21 gluon), ``res[r]`` resonance four-vectors
(H, top, W) with ``rtype[r]`` (25, 6, 24) and daughter parton indices ``rdau[r, :rnd[r]]``.
``gsplit[i]`` marks gluons that split to b b-bar (5) or c c-bar (4) inside their jet.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from trigkit.events.generator.constants import MAXP

MAXR = 4


@njit(cache=True)
def new_partons() -> tuple[
    np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray
]:
    part = np.zeros((MAXP, 4))
    pid = np.zeros(MAXP, dtype=np.int64)
    gsplit = np.zeros(MAXP, dtype=np.int64)
    res = np.zeros((MAXR, 4))
    rtype = np.zeros(MAXR, dtype=np.int64)
    rdau = np.full((MAXR, 3), -1, dtype=np.int64)
    rnd = np.zeros(MAXR, dtype=np.int64)
    return part, pid, gsplit, res, rtype, rdau, rnd


@njit(cache=True)
def add_parton(
    part: np.ndarray, pid: np.ndarray, n: int, p4: tuple[float, float, float, float], flavour: int
) -> int:
    """Append a parton if there is room; return the new count."""
    if n >= MAXP:
        return n
    part[n, 0] = p4[0]
    part[n, 1] = p4[1]
    part[n, 2] = p4[2]
    part[n, 3] = p4[3]
    pid[n] = flavour
    return n + 1
