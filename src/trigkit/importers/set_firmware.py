"""The set-model (DeepSets) parts of :mod:`trigkit.importers.firmware`.

- Row layouts: a set model reads ``[batch, n_const, n_feat]`` (or ``[batch, n_feat, n_const]``
  for a channels-first source such as a torch ``Conv1d``); the firmware reads each jet as one
  flat row, constituent-major (hls4ml's channels-last order): :func:`flat_rows` /
  :func:`source_rows` convert between the two.
- Sum pooling: hls4ml offers only ``GlobalAveragePooling1D``, so :func:`lower_sum_pool`
  rewrites ``sum_pool -> dense(W)`` as ``mean_pool -> dense(W * n_const)``. The pooling
  accumulator of :func:`pool_types` holds the mean exactly when ``n_const`` is a power of two,
  so the rewrite computes the same function; any other ``n_const`` is refused. A type pinned
  on the sum (a quantizer after it) moves with it: the mean's is ``log2(n_const)`` integer
  bits smaller.
- LeakyReLU's ``alpha`` becomes a ``PARAM_BITS``-wide fixed-point constant (:func:`leaky_param`).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from trigkit.core.errors import TrigkitError
from trigkit.fixedpoint.fixed import MAX_WIDTH, FixedType
from trigkit.importers.graph import ImportedModel, Op

PARAM_BITS = 16


def set_rows(model: ImportedModel, x: np.ndarray) -> np.ndarray:
    """Rows in the source layout ``[n, *input.shape]`` -> ``[n, n_feat]`` or, for a set model,
    ``[n, n_const, n_feat]`` (channels last)."""
    rows = np.asarray(x, dtype=np.float64)
    shape = tuple(model.input.shape)
    if rows.ndim == 2 and len(shape) == 2 and rows.shape[1] == int(np.prod(shape)):
        rows = rows.reshape(len(rows), *shape)  # already flat, in the source layout
    if rows.shape[1:] != shape or len(rows) == 0:
        raise TrigkitError(
            f"calibration data for '{model.input.name}': expected rows of shape {shape}, "
            f"got {rows.shape}"
        )
    return np.swapaxes(rows, 1, 2) if model.channels_first else rows


def flat_rows(model: ImportedModel, x: np.ndarray) -> np.ndarray:
    """Source-layout rows -> the firmware's flat rows ``[n, n_inputs]``."""
    rows = set_rows(model, x)
    return np.ascontiguousarray(rows.reshape(len(rows), -1))


def source_rows(model: ImportedModel, flat: np.ndarray) -> np.ndarray:
    """The firmware's flat rows -> the source layout ``[n, *input.shape]`` (for the float
    reference of the original graph)."""
    shape = tuple(model.input.shape)
    x = np.asarray(flat, dtype=np.float64)
    if len(shape) == 1:
        return x
    last = shape[::-1] if model.channels_first else shape
    rows = x.reshape(len(x), *last)
    return np.swapaxes(rows, 1, 2) if model.channels_first else rows


def lower_sum_pool(model: ImportedModel, n_const: int) -> tuple[Op, ...]:
    """``model.ops`` with every sum pool written as a mean pool (see the module docstring);
    ``n_const``: the input's constituents (a conv1d changes the count the pool sees)."""
    ops = list(model.ops)
    for i, op in enumerate(ops):
        if op.kind == "conv1d":
            n_const += op.pads[0] + op.pads[1] - np.asarray(op.weight).shape[2] + 1
        if op.kind != "sum_pool":
            continue
        nxt = ops[i + 1] if i + 1 < len(ops) else None
        where = f"{model.source}: layer '{op.name}' (sum_pool over {n_const} constituents)"
        if n_const & (n_const - 1):
            raise TrigkitError(
                f"{where}: hls4ml has no sum pooling and sum = mean x n_const is exact only for "
                "a power-of-two n_const; pad the constituents to a power of two or use mean "
                "pooling"
            )
        if nxt is None or nxt.kind != "dense":
            raise TrigkitError(
                f"{where}: must be followed by a dense layer (the mean's factor n_const is "
                "folded into its weights)"
            )
        # a type pinned on the sum (a quantizer after it) holds the mean n_const times smaller
        shift = n_const.bit_length() - 1
        ops[i] = replace(op, kind="mean_pool", result_t=_shifted(op.result_t, -shift))
        ops[i + 1] = _scaled(nxt, n_const)
    return tuple(ops)


def _scaled(op: Op, n: int) -> Op:
    w = op.weight * n  # type: ignore[operator]
    return replace(op, weight=w, weight_t=_shifted(op.weight_t, n.bit_length() - 1))


def _shifted(t: FixedType | None, shift: int) -> FixedType | None:
    """``t`` with its binary point moved: the type of ``value * 2**shift``."""
    if t is None:
        return None
    return FixedType(t.width, t.integer + shift, t.signed, t.rounding, t.overflow)


def im2col_weight(w: np.ndarray) -> np.ndarray:
    """A conv1d weight ``(n_out, n_in, k)`` (torch's layout) as the FirmwareNetwork's
    ``(n_out, k * n_in)``, column ``j * n_in + c`` (hls4ml's im2col order)."""
    n_out, n_in, k = w.shape
    return np.ascontiguousarray(w.transpose(0, 2, 1).reshape(n_out, k * n_in))


def pool_types(
    in_t: FixedType, n_const: int, modes: tuple[str, str], pinned: FixedType | None = None
) -> tuple[FixedType, FixedType]:
    """``(accum_t, result_t)`` of a mean pool: the sum never overflows, and the mean keeps
    ``bit_length(n_const)`` more fraction bits than the input (exact for a power of two).

    ``pinned``: the result type a quantizer after the pool sets. The truncated mean is then
    cast to it exactly as the true mean is rounded, for any ``n_const``: a true mean ``s / n``
    that is not a rounding boundary ``t`` of ``pinned`` (a multiple of ``2**-(f_r + 1)``) is at
    least ``2**-(f_in + f_r + 1) / n`` away from it, so an accumulator with
    ``f_in + f_r + 1 + ceil(log2 n)`` fraction bits truncates it without crossing ``t``, and a
    mean that is a boundary is exact in it.
    """
    extra = n_const.bit_length()
    integer = in_t.integer + extra
    frac = in_t.frac + extra
    if pinned is not None and n_const & (n_const - 1):
        need = max(in_t.frac, 0) + max(pinned.frac + 1, 0) + (n_const - 1).bit_length()
        frac = max(frac, need)
    if integer + frac > MAX_WIDTH:
        raise TrigkitError(
            f"mean pool over {n_const} constituents of {in_t.hls()}: the accumulator would need "
            f"{integer + frac} bits (max {MAX_WIDTH})"
        )
    acc = FixedType(integer + frac, integer, in_t.signed, "AP_TRN", "AP_WRAP")
    if pinned is not None:
        return acc, pinned
    res = FixedType(in_t.width + extra, in_t.integer, in_t.signed, *modes)  # type: ignore[arg-type]
    return acc, res


def leaky_param(alpha: float, bits: int) -> tuple[float, FixedType]:
    """``(alpha on the grid, param_t)``: ``bits``-wide, integer bits covering ``|alpha|``."""
    if not np.isfinite(alpha) or alpha == 0.0:
        raise TrigkitError(f"LeakyReLU alpha {alpha!r}: must be finite and non-zero")
    t = FixedType(bits, 1, True, "AP_RND_CONV", "AP_SAT").covering(-abs(alpha), abs(alpha))
    t = FixedType(t.width, t.integer, True)  # the constant is exact: no modes needed
    code = int(np.clip(np.rint(np.ldexp(alpha, t.frac)), t.min_code, t.max_code))
    return float(np.ldexp(float(code), -t.frac)), t
