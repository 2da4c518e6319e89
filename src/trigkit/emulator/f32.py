"""float32 thresholds that decide exactly like the float64 comparisons of the per-path kernels.

The event buffers are float32 and the reference kernels compare ``float64(x)`` with a float64
threshold ``t``. Converting float32 to float64 is exact and monotone, and the float32 values are a
subset of the float64 ones, so for every float32 ``x``:

* ``float64(x) >= t``  <=>  ``x >= at_least(t)``, where ``at_least(t)`` is the smallest float32
  ``>= t`` (``+inf`` when ``t`` exceeds the largest finite float32: then only ``x = +inf`` passes,
  on both sides);
* ``float64(x) <= t``  <=>  ``x <= at_most(t)``, the largest float32 ``<= t``;
* ``float64(x) < t``  <=>  ``x < at_least(t)`` (the negation of the first, NaN failing both).

A NaN ``x`` fails every comparison on both sides; a NaN ``t`` stays NaN, failing every comparison
too. The one-pass kernel therefore compares the raw float32 values with these thresholds (no
conversion per comparison); sums (HT, top-k scores) stay float64, in the reference order.
"""

from __future__ import annotations

import math

import numpy as np

_MAX = float(np.finfo(np.float32).max)


def at_least(t: float) -> np.float32:
    """The smallest float32 ``>= t`` (``+inf`` above the float32 range, NaN for NaN)."""
    if math.isnan(t) or t > _MAX:
        return np.float32(t if math.isnan(t) else math.inf)
    if t < -_MAX:
        return np.float32(-math.inf if t == -math.inf else -_MAX)
    r = np.float32(t)  # nearest float32; one step up when it rounded down
    return r if float(r) >= t else np.nextafter(r, np.float32(math.inf))


def at_most(t: float) -> np.float32:
    """The largest float32 ``<= t`` (``-inf`` below the float32 range, NaN for NaN)."""
    return -at_least(-t)
