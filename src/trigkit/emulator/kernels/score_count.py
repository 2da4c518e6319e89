"""Number of jets with a per-jet score (b-tag, L1 tagger) above a working point."""

from __future__ import annotations

from numba import njit


@njit(cache=True, nogil=True)
def score_count(pt, eta, score, j0, j1, jet_pt, abs_eta, wp, n_max):  # noqa: ANN001, ANN201
    """Count jets with pt >= ``jet_pt``, |eta| <= ``abs_eta`` and score >= ``wp``; counting
    stops at ``n_max`` (the cut's n), so ``score_count(...) >= n`` is the decision."""
    c = 0
    for j in range(j0, j1):
        if float(pt[j]) < jet_pt:
            break
        if abs(float(eta[j])) <= abs_eta and float(score[j]) >= wp:
            c += 1
            if c >= n_max:
                return c
    return c
