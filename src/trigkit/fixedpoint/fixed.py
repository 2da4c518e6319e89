"""``ap_fixed<W,I,Q,O>`` arithmetic: the type and numba primitives on integer codes.

A fixed-point value is held as an int64 *code*: the value is ``code * 2**-F`` with ``F = W - I``
fraction bits. The primitives below reproduce the Xilinx ``ap_fixed`` headers that hls4ml ships
(``templates/vivado/ap_types``) for the modes hls4ml uses:

- rounding ``AP_TRN`` (floor), ``AP_RND`` (round half towards +inf), ``AP_RND_CONV`` (half to even);
- overflow ``AP_WRAP`` (two's complement modulo ``2**W``) and ``AP_SAT`` (clamp to min/max).

Rounding is applied first, overflow second, as in ``ap_fixed_base``. Converting a float follows
``ap_fixed_base(double)``: a NaN or infinity is treated as a number of magnitude ``>= 2**1024``
with its sign bit, so it saturates to max/min under ``AP_SAT`` and wraps to 0 under ``AP_WRAP``.

Every primitive is a small ``@njit`` function on scalars, usable inside kernels and testable as
plain Python with ``NUMBA_DISABLE_JIT=1``. Widths are limited to :data:`MAX_WIDTH` bits so every
intermediate fits an int64.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

import numpy as np
from numba import njit

from trigkit.core.errors import TrigkitError

MAX_WIDTH = 62
Rounding = Literal["AP_TRN", "AP_RND", "AP_RND_CONV"]
Overflow = Literal["AP_WRAP", "AP_SAT"]
ROUNDING_CODES: dict[str, int] = {"AP_TRN": 0, "AP_RND": 1, "AP_RND_CONV": 2}
OVERFLOW_CODES: dict[str, int] = {"AP_WRAP": 0, "AP_SAT": 1}
TRN, RND, RND_CONV = 0, 1, 2
WRAP, SAT = 0, 1

_HLS_RE = re.compile(
    r"^\s*ap_(u?)fixed\s*<\s*(-?\d+)\s*,\s*(-?\d+)\s*(?:,\s*(\w+)\s*)?(?:,\s*(\w+)\s*)?(?:,\s*0\s*)?>\s*$"
)


@dataclass(frozen=True)
class FixedType:
    """An ``ap_fixed<width, integer>`` (or ``ap_ufixed``) type with its rounding/overflow modes."""

    width: int
    integer: int
    signed: bool = True
    rounding: Rounding = "AP_TRN"
    overflow: Overflow = "AP_WRAP"

    def __post_init__(self) -> None:
        if not 1 <= self.width <= MAX_WIDTH:
            raise TrigkitError(
                f"fixed-point width {self.width} out of range; valid: 1..{MAX_WIDTH}"
            )
        if self.signed and self.width < 2:
            raise TrigkitError("a signed fixed-point type needs width >= 2")
        if abs(self.integer) > 64:
            raise TrigkitError(f"integer bits {self.integer} out of range; valid: -64..64")
        if self.rounding not in ROUNDING_CODES:
            raise TrigkitError(
                f"rounding '{self.rounding}' unknown; valid: {', '.join(ROUNDING_CODES)}"
            )
        if self.overflow not in OVERFLOW_CODES:
            raise TrigkitError(
                f"overflow '{self.overflow}' unknown; valid: {', '.join(OVERFLOW_CODES)}"
            )

    # -- derived facts ---------------------------------------------------------------------
    @property
    def frac(self) -> int:
        """Fraction bits ``F = W - I`` (may be negative)."""
        return self.width - self.integer

    @property
    def kif(self) -> tuple[int, int, int]:
        """``(sign bit, integer bits without it, fraction bits)`` - da4ml's
        ``quantize(k, i, f)``."""
        k = int(self.signed)
        return k, self.integer - k, self.frac

    @property
    def min_code(self) -> int:
        return -(1 << (self.width - 1)) if self.signed else 0

    @property
    def max_code(self) -> int:
        return (1 << (self.width - 1)) - 1 if self.signed else (1 << self.width) - 1

    @property
    def lsb(self) -> float:
        return math.ldexp(1.0, -self.frac)

    @property
    def min(self) -> float:
        return math.ldexp(float(self.min_code), -self.frac)

    @property
    def max(self) -> float:
        return math.ldexp(float(self.max_code), -self.frac)

    @property
    def q(self) -> int:
        return ROUNDING_CODES[self.rounding]

    @property
    def o(self) -> int:
        return OVERFLOW_CODES[self.overflow]

    def params(self) -> tuple[int, int, bool, int, int]:
        """``(width, frac, signed, rounding code, overflow code)`` for the numba primitives."""
        return self.width, self.frac, self.signed, self.q, self.o

    # -- text ----------------------------------------------------------------------------
    def hls(self) -> str:
        """The C++ type, e.g. ``ap_fixed<6,2,AP_RND,AP_SAT>``; default modes are omitted."""
        base = f"ap_{'' if self.signed else 'u'}fixed<{self.width},{self.integer}"
        if self.overflow != "AP_WRAP":
            return f"{base},{self.rounding},{self.overflow}>"
        if self.rounding != "AP_TRN":
            return f"{base},{self.rounding}>"
        return base + ">"

    def __str__(self) -> str:
        return self.hls()

    @classmethod
    def parse(cls, text: str) -> FixedType:
        """Parse ``ap_fixed<W,I[,Q[,O]]>`` / ``ap_ufixed<...>``; raise TrigkitError otherwise."""
        m = _HLS_RE.match(text)
        if not m:
            raise TrigkitError(
                f"cannot parse fixed-point type '{text}'; expected e.g. 'ap_fixed<16,6>' or "
                "'ap_ufixed<8,0,AP_RND,AP_SAT>'"
            )
        unsigned, w, i, q, o = m.groups()
        return cls(int(w), int(i), not unsigned, q or "AP_TRN", o or "AP_WRAP")  # type: ignore[arg-type]

    # -- python-level conversions (exact, for configs and tests) --------------------------
    def to_float(self, code: int) -> float:
        return math.ldexp(float(code), -self.frac)

    def to_fraction(self, code: int) -> Fraction:
        return Fraction(code) * Fraction(2) ** (-self.frac)

    def quantize(self, x: float) -> int:
        """The code of ``ap_fixed(x)`` for one Python float."""
        return int(quantize_float(float(x), *self.params()))

    def covering(self, lo: float, hi: float) -> FixedType:
        """Same width and modes, with the fewest integer bits such that ``max(|lo|, |hi|)`` rounds
        to a representable value (it is at most ``max + lsb/2``)."""
        m = max(abs(lo), abs(hi))
        if not math.isfinite(m):
            raise TrigkitError(f"cannot choose integer bits for a non-finite range [{lo}, {hi}]")
        e = math.frexp(m)[1] if m > 0 else 1 - self.width
        t = FixedType(
            self.width, e + (1 if self.signed else 0), self.signed, self.rounding, self.overflow
        )
        if m > t.max + t.lsb / 2:  # would saturate by more than rounding: one more integer bit
            t = FixedType(self.width, t.integer + 1, self.signed, self.rounding, self.overflow)
        return t


# ------------------------------------------------------------------------------------------
# numba primitives on int64 codes
# ------------------------------------------------------------------------------------------


@njit(cache=True, inline="always")
def code_bounds(width: int, signed: bool) -> tuple[int, int]:
    if signed:
        return -(1 << (width - 1)), (1 << (width - 1)) - 1
    return 0, (1 << width) - 1


@njit(cache=True, inline="always")
def wrap_code(v: int, width: int, signed: bool) -> int:
    """Two's complement wrap of an integer to ``width`` bits."""
    mask = (1 << width) - 1
    u = v & mask
    if signed and u >= (1 << (width - 1)):
        u -= 1 << width
    return u


@njit(cache=True, inline="always")
def overflow_code(v: int, width: int, signed: bool, o: int) -> int:
    """Apply the overflow mode to an (already rounded) integer code."""
    lo, hi = code_bounds(width, signed)
    if v > hi or v < lo:
        if o == SAT:
            return hi if v > hi else lo
        return wrap_code(v, width, signed)
    return v


@njit(cache=True, inline="always")
def round_shift(v: int, d: int, q: int) -> int:
    """``v / 2**d`` rounded by mode ``q`` (``d > 0``)."""
    if d > 62:
        # |v| < 2**62 <= 2**(d-1): the quotient lies in (-1/2, 1/2)
        if q == TRN:
            return -1 if v < 0 else 0
        if q == RND:
            return 0
        return 0  # RND_CONV: |v/2**d| < 1/2 rounds to 0 (a tie needs |v| = 2**(d-1))
    fl = v >> d
    rem = v - (fl << d)
    if q == TRN:
        return fl
    half = 1 << (d - 1)
    if q == RND:
        return fl + 1 if rem >= half else fl
    if rem > half or (rem == half and (fl & 1) == 1):
        return fl + 1
    return fl


@njit(cache=True)
def requantize(v: int, f_from: int, width: int, frac: int, signed: bool, q: int, o: int) -> int:
    """Cast a code with ``f_from`` fraction bits to ``ap_fixed`` (width, frac, signed, q, o)."""
    if frac >= f_from:
        d = frac - f_from
        if d == 0:
            return overflow_code(v, width, signed, o)
        lo, hi = code_bounds(width, signed)
        if o == SAT:
            d = min(d, 62)
            if v > (hi >> d):
                return hi
            if v < -((-lo) >> d) or (not signed and v < 0):
                return lo
            return v << d
        if d >= width:
            return 0
        return wrap_code((v & ((1 << (width - d)) - 1)) << d, width, signed)
    return overflow_code(round_shift(v, f_from - frac, q), width, signed, o)


@njit(cache=True)
def quantize_float(x: float, width: int, frac: int, signed: bool, q: int, o: int) -> int:
    """The code ``ap_fixed<width, width-frac>(x)`` for a double ``x`` (NaN/Inf as ap_fixed does)."""
    lo, hi = code_bounds(width, signed)
    if math.isnan(x) or math.isinf(x):
        if o == WRAP:
            return 0
        return lo if math.copysign(1.0, x) < 0 else hi
    if x == 0.0:
        return 0
    if math.frexp(x)[1] + frac > 1024:  # finite x, |x * 2**frac| >= 2**1024: a multiple of 2**971
        if o == WRAP:
            return 0
        return lo if x < 0 else hi
    v = math.ldexp(x, frac)
    if v == 0.0:  # underflow of a tiny x (frac < 0): the quotient is in (-1/2, 1/2)
        return -1 if (x < 0 and q == TRN) else 0
    t = np.floor(v)
    r = v - t  # exact
    if q == RND:
        if r >= 0.5:
            t += 1.0
    elif q == RND_CONV:
        if r > 0.5 or (r == 0.5 and t - 2.0 * np.floor(t / 2.0) != 0.0):
            t += 1.0
    if t > hi or t < lo:
        if o == SAT:
            return hi if t > hi else lo
        m = 2.0**width
        t = t - m * np.floor(t / m)  # exact: the result is an integer in [0, 2**width)
        return wrap_code(int(t), width, signed)
    return int(t)


@njit(cache=True, inline="always")
def code_to_float(v: int, frac: int) -> float:
    return math.ldexp(float(v), -frac)


@njit(cache=True, inline="always")
def add_codes(a: int, fa: int, b: int, fb: int) -> tuple[int, int]:
    """Exact sum of two codes: ``(code, frac)`` with ``frac = max(fa, fb)``."""
    if fa >= fb:
        return a + (b << (fa - fb)), fa
    return (a << (fb - fa)) + b, fb


@njit(cache=True, inline="always")
def mul_codes(a: int, fa: int, b: int, fb: int) -> tuple[int, int]:
    """Exact product of two codes: ``(code, fa + fb)`` (the ``ap_fixed`` full-width product)."""
    return a * b, fa + fb
