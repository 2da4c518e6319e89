"""Jet multiplicity with per-jet thresholds: ``pt: [70, 55, 40, 35]`` within |eta|."""

from __future__ import annotations

from numba import njit


@njit(cache=True, nogil=True)
def jets_pass(pt, eta, j0, j1, thr, t0, nthr, abs_eta):  # noqa: ANN001, ANN201 - numba kernel
    """True when the i-th highest-pt jet with |eta| <= ``abs_eta`` has pt >= ``thr[t0 + i]`` for
    every i < ``nthr`` (``thr[t0:t0+nthr]`` sorted in decreasing order; jets pt-ordered)."""
    k = 0
    for j in range(j0, j1):
        if abs(float(eta[j])) <= abs_eta:
            if float(pt[j]) >= thr[t0 + k]:
                k += 1
                if k == nthr:
                    return True
            else:
                return False  # later jets have lower pt: they cannot pass thr[k] either
    return False
