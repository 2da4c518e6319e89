"""Large-R jets: pt, soft-drop mass and (optionally) an Xbb score above thresholds."""

from __future__ import annotations

from numba import njit


@njit(cache=True, nogil=True)
def fatjet_pass(pt, eta, msd, xbb, f0, f1, pt_min, abs_eta, msd_min, xbb_min, n):  # noqa: ANN001, ANN201
    """True when at least ``n`` large-R jets in ``[f0, f1)`` have pt >= ``pt_min``,
    |eta| <= ``abs_eta``, msd >= ``msd_min`` and xbb >= ``xbb_min`` (pass ``-inf`` for no Xbb cut;
    ``xbb`` is then not read)."""
    c = 0
    use_xbb = xbb_min > -1.0e300
    for j in range(f0, f1):
        if float(pt[j]) >= pt_min and abs(float(eta[j])) <= abs_eta and float(msd[j]) >= msd_min:
            if (not use_xbb) or float(xbb[j]) >= xbb_min:
                c += 1
                if c >= n:
                    return True
    return False
