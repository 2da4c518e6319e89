"""Sum of the k highest per-jet scores (k <= 4): PNet2BTagMean (mean = sum / k), 2BTagSum."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def score_top_sum(pt, eta, score, j0, j1, jet_pt, abs_eta, k):  # noqa: ANN001, ANN201
    """Return (sum of the ``k`` highest scores, number of selected jets) over jets with
    pt >= ``jet_pt`` and |eta| <= ``abs_eta``. The sum is accumulated in float64 from the highest
    score down (a -inf score, i.e. a missing one, makes the sum -inf); with fewer than ``k`` selected jets the cut fails (count < k)."""
    s0 = s1 = s2 = s3 = -np.inf
    c = 0
    for j in range(j0, j1):
        if float(pt[j]) < jet_pt:
            break
        if abs(float(eta[j])) <= abs_eta:
            c += 1
            v = float(score[j])
            if v > s3:  # insertion into the sorted registers s0 >= s1 >= s2 >= s3
                if v > s2:
                    s3 = s2
                    if v > s1:
                        s2 = s1
                        if v > s0:
                            s1 = s0
                            s0 = v
                        else:
                            s1 = v
                    else:
                        s2 = v
                else:
                    s3 = v
    if c < k:
        return 0.0, c
    total = s0
    if k > 1:
        total += s1
    if k > 2:
        total += s2
    if k > 3:
        total += s3
    return total, c
