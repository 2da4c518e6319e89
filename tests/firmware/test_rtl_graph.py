"""Constant adds sunk down their adder trees (rtl_graph): same values, shorter longest path."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("da4ml", reason="da4ml (extra 'fpga') not installed")

from da4ml.trace import FixedVariableArray, FixedVariableArrayInput, HWConfig, comb_trace  # noqa: E402

from trigkit.firmware.rtl.graph import sink_constant_adds  # noqa: E402


def _tree(const: float):
    """((x0 + 2 x1) - (x2 + x3)) + 4 x4 + const: a tree with one late and one early branch."""
    inp = FixedVariableArrayInput(5, hwconf=HWConfig(1, -1, -1))
    x = inp.quantize(1, 3, 2)._vars  # ap_fixed<6,4>: step 1/4
    v = ((x[0] + x[1] * 2) - (x[2] + x[3])) + x[4] * 4 + const
    return comb_trace(inp, FixedVariableArray(np.array([v]), None, hwconf=x[0].hwconf))


def _depth(comb, idx: int) -> int:
    """Carry chains on the longest path to ``idx`` (adds, subs and constant adds each count 1)."""
    op = comb.ops[idx]
    if op.opcode in (-1, 5):
        return 0
    ins = [i for i in (op.id0, op.id1) if i >= 0]
    return max((_depth(comb, i) for i in ins), default=0) + (op.opcode in (0, 1, 4))


@pytest.mark.parametrize("const", [0.75, -3.5, 0.125, 100.25])
def test_sunk_constant_gives_the_same_values_on_a_shorter_path(const: float) -> None:
    comb = _tree(const)
    sunk = sink_constant_adds(comb)
    codes = np.arange(-32, 32) / 4.0
    rng = np.random.default_rng(0)
    x = np.concatenate(
        [
            rng.choice(codes, size=(3000, 5)),
            np.full((1, 5), codes.min()),
            np.full((1, 5), codes.max()),
        ]
    )
    np.testing.assert_array_equal(sunk.predict(x), comb.predict(x))
    np.testing.assert_array_equal(
        comb.predict(x).ravel(), (x[:, 0] + 2 * x[:, 1]) - (x[:, 2] + x[:, 3]) + 4 * x[:, 4] + const
    )
    out = comb.out_idxs[0]
    assert comb.ops[out].opcode == 4  # da4ml adds the constant last ...
    assert sunk.ops[out].opcode in (0, 1)  # ... the rewrite puts it on the early branch
    assert _depth(sunk, out) == _depth(comb, out) - 1
    assert sorted(op.opcode for op in sunk.ops) == sorted(
        op.opcode for op in comb.ops
    )  # no op added


def test_a_shared_sum_keeps_its_constant_on_top() -> None:
    """When the last adder's result is read elsewhere too, moving the constant would change it."""
    inp = FixedVariableArrayInput(3, hwconf=HWConfig(1, -1, -1))
    x = inp.quantize(1, 3, 2)._vars
    s = (x[0] + x[1]) + x[2] * 2
    comb = comb_trace(inp, FixedVariableArray(np.array([s + 1.5, s]), None, hwconf=x[0].hwconf))
    sunk = sink_constant_adds(comb)
    assert [tuple(op) for op in sunk.ops] == [tuple(op) for op in comb.ops]


@pytest.mark.parametrize("seed", range(12))
def test_random_trees_with_constants_keep_their_values(seed: int) -> None:
    """Random +/- trees over shifted inputs with constants at random points: sinking never
    changes a value (da4ml's interpreter against float64, before and after)."""
    rng = np.random.default_rng(seed)
    inp = FixedVariableArrayInput(6, hwconf=HWConfig(1, -1, -1))
    xv = inp.quantize(1, 3, 3)._vars
    x = rng.choice(np.arange(-64, 64) / 8.0, size=(2000, 6))

    def build(depth: int):  # (traced variable, float64 values)
        if depth == 0 or rng.random() < 0.2:
            i, k = int(rng.integers(6)), float(2.0 ** rng.integers(-2, 3))
            return xv[i] * k, x[:, i] * k
        (a, va), (b, vb) = build(depth - 1), build(depth - 1)
        v, vv = (a + b, va + vb) if rng.random() < 0.5 else (a - b, va - vb)
        if rng.random() < 0.4:
            c = float(rng.integers(-40, 40)) / 8.0
            v, vv = v + c, vv + c
        return v, vv

    outs = [build(4) for _ in range(3)]
    comb = comb_trace(
        inp, FixedVariableArray(np.array([o for o, _ in outs]), None, hwconf=xv[0].hwconf)
    )
    want = np.stack([w for _, w in outs], axis=1)
    np.testing.assert_array_equal(comb.predict(x), want)
    np.testing.assert_array_equal(sink_constant_adds(comb).predict(x), want)
