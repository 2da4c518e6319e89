"""``ap_fixed`` semantics on torch tensors (int64 codes), the twin of ``trigkit.fixedpoint.fixed``.

Used by the QAT forward pass so that it is bit-exact with the firmware: floats are converted to
codes as ``ap_fixed(double)`` does (rounding, overflow, NaN/Inf), codes are re-cast between types
with the same shift/round/wrap/saturate rules, and :class:`FixedQuantizer` is the fake-quantizer
with a straight-through gradient.
"""

from __future__ import annotations

import torch

from trigkit.core.errors import TrigkitError
from trigkit.fixedpoint.fixed import FixedType


def wrap(v: torch.Tensor, t: FixedType) -> torch.Tensor:
    u = v & ((1 << t.width) - 1)
    if t.signed:
        u = u - ((u >= (1 << (t.width - 1))).long() << t.width)
    return u


def overflow(v: torch.Tensor, t: FixedType) -> torch.Tensor:
    if t.overflow == "AP_SAT":
        return v.clamp(t.min_code, t.max_code)
    return wrap(v, t)


def round_shift(v: torch.Tensor, d: int, rounding: str) -> torch.Tensor:
    """``v / 2**d`` rounded (``d > 0``)."""
    if d > 62:
        if rounding == "AP_TRN":
            return torch.where(v < 0, -1, 0).long()
        return torch.zeros_like(v)
    fl = v >> d
    if rounding == "AP_TRN":
        return fl
    rem = v - (fl << d)
    half = 1 << (d - 1)
    if rounding == "AP_RND":
        return fl + (rem >= half).long()
    return fl + ((rem > half) | ((rem == half) & ((fl & 1) == 1))).long()


def requantize(v: torch.Tensor, f_from: int, t: FixedType) -> torch.Tensor:
    """Cast codes with ``f_from`` fraction bits to ``t`` (rounding, then overflow)."""
    d = t.frac - f_from
    if d > 0:
        big = int(v.abs().max()) if v.numel() else 0
        if big.bit_length() + d > 62:
            if t.overflow == "AP_SAT":
                lim_hi, lim_lo = t.max_code >> min(d, 62), -((-t.min_code) >> min(d, 62))
                v = v.clamp(lim_lo - 1, lim_hi + 1)
            else:
                v = v & ((1 << max(t.width - d, 0)) - 1) if d < t.width else torch.zeros_like(v)
        return overflow(v << d, t)
    if d < 0:
        v = round_shift(v, -d, t.rounding)
    return overflow(v, t)


def quantize_codes(x: torch.Tensor, t: FixedType) -> torch.Tensor:
    """Codes of ``ap_fixed(double(x))`` for a float tensor (any finite or non-finite values)."""
    x = x.detach().double()
    bad = ~torch.isfinite(x)
    v = torch.ldexp(torch.where(bad, 0.0, x), torch.tensor(float(t.frac), dtype=torch.float64))
    overflowed = torch.isinf(v)
    v = torch.where(overflowed, 0.0, v)
    fl = torch.floor(v)
    r = v - fl
    if t.rounding == "AP_RND":
        fl = fl + (r >= 0.5).double()
    elif t.rounding == "AP_RND_CONV":
        odd = (fl - 2.0 * torch.floor(fl / 2.0)) != 0.0
        fl = fl + ((r > 0.5) | ((r == 0.5) & odd)).double()
    hi, lo = float(t.max_code), float(t.min_code)
    if t.overflow == "AP_SAT":
        codes = fl.clamp(lo, hi).long()
        special = torch.where(torch.signbit(x), t.min_code, t.max_code).long()
        return torch.where(bad | overflowed, special, codes)
    m = float(2**t.width)
    codes = wrap((fl - m * torch.floor(fl / m)).long(), t)
    return torch.where(bad | overflowed, 0, codes)


def to_float(codes: torch.Tensor, t: FixedType | int) -> torch.Tensor:
    frac = t if isinstance(t, int) else t.frac
    return torch.ldexp(codes.double(), torch.tensor(float(-frac), dtype=torch.float64))


class _FixedQuantize(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, t: FixedType) -> torch.Tensor:  # type: ignore[override]
        y = to_float(quantize_codes(x, t), t).to(
            x.dtype if x.dtype == torch.float64 else torch.float64
        )
        if t.overflow == "AP_SAT":
            ctx.save_for_backward((x >= t.min) & (x <= t.max))
        else:
            ctx.save_for_backward(torch.ones_like(x, dtype=torch.bool))
        return y

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:  # type: ignore[override]
        (inside,) = ctx.saved_tensors
        return grad * inside.to(grad.dtype), None


def fixed_quantize(x: torch.Tensor, t: FixedType) -> torch.Tensor:
    """Fake-quantize ``x`` to ``t`` (float64 values on the grid) with a straight-through gradient
    (zero outside ``[t.min, t.max]`` for saturating types)."""
    if not isinstance(t, FixedType):
        raise TrigkitError(f"fixed_quantize needs a FixedType, got {type(t).__name__}")
    return _FixedQuantize.apply(x, t)


FixedQuantizer = _FixedQuantize
