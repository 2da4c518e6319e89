"""ap_fixed primitives against an independent Python-integer / Fraction reference."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trigkit.core.errors import TrigkitError
from trigkit.fixedpoint import kernels
from trigkit.fixedpoint.fixed import FixedType, quantize_float, requantize

ROUND = ("AP_TRN", "AP_RND", "AP_RND_CONV")
OVER = ("AP_WRAP", "AP_SAT")


# -- reference (exact rational arithmetic, written from the ap_fixed definitions) -------------
def ref_round(v: Fraction, rounding: str) -> int:
    fl = math.floor(v)
    r = v - fl
    if rounding == "AP_TRN":
        return fl
    if rounding == "AP_RND":  # half towards +inf
        return fl + (1 if r >= Fraction(1, 2) else 0)
    if r > Fraction(1, 2) or (r == Fraction(1, 2) and fl % 2 == 1):  # half to even
        return fl + 1
    return fl


def ref_overflow(n: int, t: FixedType) -> int:
    lo, hi = t.min_code, t.max_code
    if lo <= n <= hi:
        return n
    if t.overflow == "AP_SAT":
        return hi if n > hi else lo
    u = n % (1 << t.width)
    return u - (1 << t.width) if t.signed and u >= (1 << (t.width - 1)) else u


def ref_quantize_value(v: Fraction, t: FixedType) -> int:
    return ref_overflow(ref_round(v * Fraction(2) ** t.frac, t.rounding), t)


def ref_quantize_float(x: float, t: FixedType) -> int:
    if math.isnan(x) or math.isinf(x):  # ap_fixed(double): a huge number with the sign bit
        if t.overflow == "AP_WRAP":
            return 0
        return t.min_code if math.copysign(1.0, x) < 0 else t.max_code
    return ref_quantize_value(Fraction(x), t)


@st.composite
def fixed_types(draw, max_width: int = 40) -> FixedType:
    signed = draw(st.booleans())
    width = draw(st.integers(2 if signed else 1, max_width))
    integer = draw(st.integers(-6, width + 6))
    return FixedType(
        width, integer, signed, draw(st.sampled_from(ROUND)), draw(st.sampled_from(OVER))
    )


@st.composite
def type_and_float(draw):
    t = draw(fixed_types())
    kind = draw(st.sampled_from(["any", "grid", "tie", "edge"]))
    if kind == "any":
        x = draw(st.floats(allow_nan=True, allow_infinity=True))
    elif kind == "grid":
        x = draw(st.integers(-(1 << (t.width + 2)), 1 << (t.width + 2))) * t.lsb
    elif kind == "tie":
        x = (draw(st.integers(-(1 << (t.width + 1)), 1 << (t.width + 1))) + 0.5) * t.lsb
    else:
        x = draw(
            st.sampled_from(
                [t.min, t.max, t.max + t.lsb / 2, t.min - t.lsb / 2, 2.0**80, -(2.0**80)]
            )
        )
        x = x + draw(st.sampled_from([0.0, t.lsb / 4, -t.lsb / 4]))
    return t, x


@settings(max_examples=200, deadline=None)
@given(type_and_float())
def test_quantize_float_matches_reference(tx):
    t, x = tx
    assert quantize_float(x, *t.params()) == ref_quantize_float(x, t)


@settings(max_examples=200, deadline=None)
@given(fixed_types(), st.integers(-(2**45), 2**45), st.integers(-20, 40))
def test_requantize_matches_reference(t, code, f_from):
    expected = ref_quantize_value(Fraction(code) * Fraction(2) ** (-f_from), t)
    assert requantize(code, f_from, *t.params()) == expected


@settings(max_examples=100, deadline=None)
@given(fixed_types(24), fixed_types(24), st.data())
def test_product_and_sum_are_exact(ta, tb, data):
    a = data.draw(st.integers(ta.min_code, ta.max_code))
    b = data.draw(st.integers(tb.min_code, tb.max_code))
    exact = ta.to_fraction(a) * tb.to_fraction(b)
    assert Fraction(a * b) * Fraction(2) ** (-(ta.frac + tb.frac)) == exact
    # casting the exact product into an accumulator == rounding the rational value
    acc = FixedType(30, 12, True, "AP_RND", "AP_SAT")
    assert requantize(a * b, ta.frac + tb.frac, *acc.params()) == ref_quantize_value(exact, acc)


def test_batch_kernel_equals_scalar_primitive():
    t = FixedType(10, 3, True, "AP_RND_CONV", "AP_SAT")
    rng = np.random.default_rng(1)
    x = rng.normal(0, 6, size=(50, 7))
    x[0, :3] = [np.nan, np.inf, -np.inf]
    codes = kernels.quantize_rows(x, *t.params())
    assert codes.tolist() == [[ref_quantize_float(float(v), t) for v in row] for row in x]


@pytest.mark.parametrize(
    "text",
    [
        "ap_fixed<16,6>",
        "ap_ufixed<8,0,AP_RND,AP_SAT>",
        "ap_fixed<6,-2,AP_RND_CONV>",
        "ap_fixed<12,4,AP_TRN,AP_SAT>",
    ],
)
def test_hls_string_round_trip(text):
    assert FixedType.parse(text).hls() == text


def test_type_facts_and_bad_input():
    t = FixedType.parse("ap_fixed<6,2,AP_RND,AP_SAT>")
    assert (t.min, t.max, t.lsb, t.frac) == (-2.0, 1.9375, 0.0625, 4)
    assert FixedType(8, 1).covering(-3.2, 1.0).integer == 3  # 3.2 < 2**(3-1)
    with pytest.raises(TrigkitError, match="cannot parse"):
        FixedType.parse("float")
    with pytest.raises(TrigkitError, match="width"):
        FixedType(80, 4)
    with pytest.raises(TrigkitError, match="rounding"):
        FixedType(8, 4, True, "AP_FOO")  # type: ignore[arg-type]
