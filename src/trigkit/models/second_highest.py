"""Second-highest value per list: the track-counting b-tag discriminant (the 2nd-highest track
d0 significance), used by the ``d0sig-2nd`` baseline and the emulator's baseline scores."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _ranks_above(a, b):  # noqa: ANN001, ANN202
    """Whether ``a`` comes before ``b`` in decreasing order with NaN first (awkward's order)."""
    return (a != a and b == b) or a > b


@njit(cache=True, nogil=True)
def second_highest(values, offsets):  # noqa: ANN001, ANN201 - numba kernel
    """float64 per list ``values[offsets[i]:offsets[i + 1]]``: its second-highest value (the
    value at index 1 of the list sorted in decreasing order, so a repeated maximum counts twice;
    NaN sorts first, as ``ak.sort(..., ascending=False)`` does), -inf for fewer than two values."""
    n = len(offsets) - 1
    out = np.empty(n, dtype=np.float64)
    for i in range(n):
        m1 = -np.inf
        m2 = -np.inf
        for j in range(offsets[i], offsets[i + 1]):
            v = float(values[j])
            if _ranks_above(v, m1):
                m2 = m1
                m1 = v
            elif _ranks_above(v, m2):
                m2 = v
        out[i] = m2
    return out


def second_highest_padded(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """:func:`second_highest` of each row of ``x`` (n, m) over its entries where ``mask``."""
    counts = mask.sum(axis=1).astype(np.int64)
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return second_highest(np.ascontiguousarray(x[mask], dtype=np.float64), offsets)
