"""The softmax type rule: the logit and 1/sum types hls4ml's table softmax needs.

One place for both trigkit's own QAT models (:mod:`trigkit.compile.qat`) and imported ones
(:mod:`trigkit.importers.firmware`):

- hls4ml's stable softmax holds ``x_max - x_i`` in ``inp_norm_t`` (the logit type one bit
  narrower, unsigned: the logit type's positive range). The differences reach up to twice the
  logits' own range, so a logit type that covers the logits only wraps them there and
  flattens the probabilities; :func:`softmax_logit_t` covers the differences too.
- The sum of ``exp(x_i - x_max)`` lies in ``[1, n_classes]``. hls4ml's default ``inv_inp_t``
  ``ap_fixed<18,8>`` addresses the 1024-entry 1/sum table in steps of 0.25 over [0, 128), a
  ~5 % error on 1/sum for five classes; :func:`softmax_sum_t` covers ``n_classes`` only.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from trigkit.fixedpoint.fixed import FixedType
from trigkit.fixedpoint.network import SoftmaxSpec

__all__ = [
    "signed_covering",
    "softmax_logit_t",
    "softmax_spec",
    "softmax_span",
    "softmax_sum_t",
    "widened_logit_t",
    "wrapped_rows",
]


def signed_covering(width: int, values: np.ndarray, q: float, modes: tuple[str, str]) -> FixedType:
    """A signed ``width``-bit type covering ``[-m, m]``, ``m`` the ``q`` quantile of
    ``|values|`` (the post-training rule for the types the calibration rows set)."""
    v = np.abs(np.asarray(values, dtype=np.float64))
    m = float(np.quantile(v, q)) if v.size else 0.0
    return FixedType(width, 1, True, *modes).covering(-m, m)  # type: ignore[arg-type]


def softmax_span(logits: np.ndarray) -> np.ndarray:
    """The logits and every ``max - logit`` of their row: the values the stable softmax holds in
    the logit type's range (``[n, 2 * n_classes]``)."""
    z = np.asarray(logits, dtype=np.float64).reshape(len(logits), -1)
    if z.size == 0:
        return z
    return np.concatenate([z, z.max(axis=1, keepdims=True) - z], axis=1)


def softmax_logit_t(
    width: int,
    logits: np.ndarray,
    q: float,
    modes: tuple[str, str],
    implementation: Literal["stable", "latency"] = "stable",
) -> FixedType:
    """The type of the logits a softmax reads: covering the ``q`` quantile of the logits and
    (stable implementation) of their differences ``x_max - x_i``, so ``inp_norm_t`` holds them."""
    span = softmax_span(logits) if implementation == "stable" else logits
    return signed_covering(width, span, q, modes)


def widened_logit_t(logit_t: FixedType, logits: np.ndarray, q: float) -> FixedType:
    """A pinned logit type with the integer bits :func:`softmax_logit_t` asks for added on top
    and its LSB kept, so every logit it held is unchanged and ``x_max - x_i`` fits
    (``logit_t`` itself when it already covers them)."""
    need = softmax_logit_t(logit_t.width, logits, q, (logit_t.rounding, logit_t.overflow))
    k = max(0, need.integer - logit_t.integer)
    if k == 0:
        return logit_t
    return FixedType(
        logit_t.width + k, logit_t.integer + k, logit_t.signed, logit_t.rounding, logit_t.overflow
    )


def wrapped_rows(logits: np.ndarray, logit_t: FixedType) -> int:
    """Rows of ``logits`` (float) whose largest ``x_max - x_i`` the stable softmax's
    ``inp_norm_t`` cannot hold in ``logit_t`` (there it wraps: a far-off class gets a high
    probability)."""
    z = np.asarray(logits, dtype=np.float64).reshape(len(logits), -1)
    if z.size == 0:
        return 0
    top = SoftmaxSpec().inp_norm_t(logit_t).max
    return int(np.count_nonzero((z.max(axis=1) - z.min(axis=1)) > top))


def softmax_sum_t(n_out: int) -> FixedType:
    """``inv_inp_t`` for an ``n_out``-class softmax: an 18-bit type covering ``n_out`` (the
    exp-sum's top), so the 1024-entry 1/sum table steps ``2**(integer - 10)``."""
    return FixedType(18, 1, True, "AP_RND", "AP_SAT").covering(0.0, float(n_out))


def softmax_spec(n_out: int, table_size: int = 1024) -> SoftmaxSpec:
    """hls4ml's stable softmax with :func:`softmax_sum_t` as the 1/sum table input type (the
    other table types as hls4ml's defaults)."""
    return SoftmaxSpec(table_size=table_size, inv_inp_t=softmax_sum_t(n_out))
