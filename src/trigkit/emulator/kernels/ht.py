"""HT: scalar sum of the pt of jets above their own pt / |eta| threshold."""

from __future__ import annotations

from numba import njit


@njit(cache=True, nogil=True)
def ht_sum(pt, eta, j0, j1, jet_pt, abs_eta):  # noqa: ANN001, ANN201 - numba kernel
    """Sum (float64) of pt over jets with pt >= ``jet_pt`` and |eta| <= ``abs_eta``."""
    h = 0.0
    for j in range(j0, j1):
        p = float(pt[j])
        if p < jet_pt:
            break  # pt-ordered: nothing further passes
        if abs(float(eta[j])) <= abs_eta:
            h += p
    return h
