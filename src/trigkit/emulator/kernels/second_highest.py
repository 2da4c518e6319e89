"""Second-highest value per list (the baseline b-tag's track-counting discriminant)."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def second_highest(values, offsets):  # noqa: ANN001, ANN201
    """float64 per list ``values[offsets[i]:offsets[i + 1]]``: its second-highest value (the
    value at index 1 of the list sorted in decreasing order, so a repeated maximum counts twice),
    -inf for lists with fewer than two values. ``values`` must hold no NaN."""
    n = len(offsets) - 1
    out = np.empty(n, dtype=np.float64)
    for i in range(n):
        m1 = -np.inf
        m2 = -np.inf
        for j in range(offsets[i], offsets[i + 1]):
            v = float(values[j])
            if v > m1:
                m2 = m1
                m1 = v
            elif v > m2:
                m2 = v
        out[i] = m2
    return out
