"""Jagged per-object lists (awkward) as fixed-width numpy rows."""

from __future__ import annotations

import awkward as ak
import numpy as np


def padded(values: ak.Array, n: int, fill: float = 0.0) -> np.ndarray:
    """``[rows, var]`` -> float64 ``[rows, n]``: each row's first ``n`` values, ``fill`` after
    its last."""
    out = ak.fill_none(ak.pad_none(values, n, axis=1, clip=True), fill)
    return np.asarray(ak.to_numpy(out), dtype=np.float64).reshape(len(values), n)
