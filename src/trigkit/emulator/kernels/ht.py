"""HT: scalar sum of the pt of jets above their own pt / |eta| threshold (optionally the leading N)."""

from __future__ import annotations

from numba import njit


@njit(cache=True, nogil=True)
def ht_sum(pt, eta, j0, j1, jet_pt, abs_eta, leading=0):  # noqa: ANN001, ANN201 - numba kernel
    """Sum (float64, in jet order) of pt over jets with pt >= ``jet_pt`` and |eta| <= ``abs_eta``;
    with ``leading`` > 0, over the first ``leading`` such jets only (jets are pt-ordered, so the
    leading ones). ``leading`` = 0: every selected jet."""
    n_max = leading if leading > 0 else j1 - j0
    h = 0.0
    n = 0
    for j in range(j0, j1):
        p = float(pt[j])
        if p < jet_pt or n >= n_max:
            break  # pt-ordered: nothing further passes / the leading jets are summed
        if abs(float(eta[j])) <= abs_eta:
            h += p
            n += 1
    return h
