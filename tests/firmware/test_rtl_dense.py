"""Shallow dense/ReLU lowering (rtl_dense): bit-exact with the emulator for every cast combination.

Each case builds a dense -> relu -> dense network whose types exercise one branch of the plan
(rounding in the dense type or in the ReLU type, either type the tighter cap, wrapping types,
signed/unsigned ReLU output) and checks da4ml's interpreter on the traced graph against
FirmwareEmulator on random, saturating and NaN/Inf inputs; a second check shows the shallow
trace was taken where it should be (fewer constant adds than the literal casts).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tests.firmware.fpga_nets import _on_grid, random_inputs
from trigkit.firmware.emulate import FirmwareEmulator
from trigkit.fixedpoint.fixed import FixedType
from trigkit.fixedpoint.network import FirmwareLayer, FirmwareNetwork

pytest.importorskip("da4ml", reason="da4ml (extra 'fpga') not installed")

from trigkit.firmware.rtl import dense as rtl_dense
from trigkit.firmware.rtl import generate as rtl

IN_T = FixedType(12, 4, rounding="AP_RND", overflow="AP_SAT")
W_T = FixedType(6, 2)
B_T = FixedType(6, 1)
ACC_T = FixedType(28, 14)

CASES = {  # name: (dense result_t, relu result_t, last dense result_t)
    "dense rounds, same grid": (
        FixedType(7, 4, rounding="AP_RND", overflow="AP_SAT"),
        FixedType(6, 3, False, "AP_RND", "AP_SAT"),
        FixedType(12, 6, rounding="AP_RND", overflow="AP_SAT"),
    ),
    "dense rounds, relu finer and tighter": (
        FixedType(8, 5, rounding="AP_RND", overflow="AP_SAT"),
        FixedType(8, 3, False, "AP_TRN", "AP_SAT"),
        FixedType(10, 4, rounding="AP_TRN", overflow="AP_SAT"),
    ),
    "dense truncates, dense tighter": (
        FixedType(6, 2, rounding="AP_TRN", overflow="AP_SAT"),
        FixedType(8, 4, False, "AP_TRN", "AP_SAT"),
        FixedType(9, 5, rounding="AP_RND", overflow="AP_SAT"),
    ),
    "exact dense, relu rounds (hls4ml default)": (
        ACC_T,
        FixedType(6, 3, False, "AP_RND", "AP_SAT"),
        FixedType(16, 8, rounding="AP_RND", overflow="AP_SAT"),
    ),
    "exact dense, relu truncates, signed relu type": (
        ACC_T,
        FixedType(7, 4, True, "AP_TRN", "AP_SAT"),
        FixedType(8, 3, rounding="AP_RND", overflow="AP_SAT"),
    ),
    "relu wraps (literal casts)": (
        FixedType(7, 4, rounding="AP_RND", overflow="AP_SAT"),
        FixedType(5, 2, False, "AP_RND", "AP_WRAP"),
        FixedType(12, 6, overflow="AP_WRAP"),
    ),
    "dense wraps (literal casts)": (
        FixedType(7, 3, rounding="AP_RND", overflow="AP_WRAP"),
        FixedType(6, 3, False, "AP_RND", "AP_SAT"),
        ACC_T,
    ),
}


def _net(dense_t: FixedType, act_t: FixedType, last_t: FixedType, seed: int) -> FirmwareNetwork:
    rng = np.random.default_rng(seed)
    sizes = (6, 9, 4)

    def dense(name: str, n_in: int, n_out: int, result_t: FixedType) -> FirmwareLayer:
        return FirmwareLayer(
            name=name,
            kind="dense",
            n_in=n_in,
            n_out=n_out,
            result_t=result_t,
            weight=_on_grid(rng, (n_out, n_in), W_T, 0.7),
            bias=_on_grid(rng, (n_out,), B_T, 1.0),
            weight_t=W_T,
            bias_t=B_T,
            accum_t=ACC_T,
        )

    layers = (
        dense("fc1", sizes[0], sizes[1], dense_t),
        FirmwareLayer("relu1", "relu", sizes[1], sizes[1], act_t),
        dense("fc2", sizes[1], sizes[2], last_t),
    )
    return FirmwareNetwork(
        name="casts",
        input_t=IN_T,
        input_names=tuple(f"x{i}" for i in range(sizes[0])),
        layers=layers,
        clock_period_ns=5.0,
    )


def _check(net: FirmwareNetwork, n: int = 4000) -> None:
    emu = FirmwareEmulator(net)
    codes = emu.quantize_inputs(random_inputs(net, n, seed=7))
    x = np.ldexp(codes.astype(np.float64), -net.input_t.frac)
    got = rtl.trace_network(net).predict(x)
    want = np.ldexp(emu.run_codes(codes).astype(np.float64), -net.output_t.frac)
    np.testing.assert_array_equal(got, want)
    hidden = net.with_(
        layers=net.layers[:2], output_names=tuple(f"h{i}" for i in range(net.layers[1].n_out))
    )
    got = rtl.trace_network(hidden).predict(x)
    want = np.ldexp(emu.run_codes(codes, upto=2).astype(np.float64), -net.layers[1].result_t.frac)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_shallow_trace_is_bit_exact(case: str, seed: int) -> None:
    _check(_net(*CASES[case], seed=seed))


def test_large_weights_saturate_every_cap() -> None:
    """Weights at the type's extremes drive most outputs into both saturation bounds."""
    net = _net(*CASES["dense rounds, same grid"], seed=3)
    big = [
        dataclasses.replace(layer, weight=np.sign(layer.weight) * W_T.max)
        if layer.kind == "dense"
        else layer
        for layer in net.layers
    ]
    _check(net.with_(layers=tuple(big)))


def _const_adds(net: FirmwareNetwork) -> int:
    return sum(op.opcode == 4 for op in rtl.trace_network(net).ops)


def test_shallow_path_taken_only_where_the_identities_hold(monkeypatch: pytest.MonkeyPatch) -> None:
    fused = _net(*CASES["dense rounds, same grid"], seed=0)
    literal_adds = _literal(monkeypatch, fused)
    assert (
        _const_adds(fused) < literal_adds
    )  # one constant add per output, not bias + half-LSB + bounds
    wraps = _net(*CASES["relu wraps (literal casts)"], seed=0)
    assert rtl_dense._plan(wraps.layers[0], wraps.layers[1], IN_T) is None
    narrow_acc = dataclasses.replace(fused.layers[0], accum_t=FixedType(12, 4))
    assert rtl_dense._plan(narrow_acc, fused.layers[1], IN_T) is None  # the accumulator could wrap


def _literal(monkeypatch: pytest.MonkeyPatch, net: FirmwareNetwork) -> int:
    with monkeypatch.context() as m:
        m.setattr(rtl_dense, "dense_block", lambda *a, **k: None)
        m.setattr(rtl_dense, "dense_last", lambda *a, **k: None)
        return _const_adds(net)


def test_truncating_a_negated_sum_needs_no_negation() -> None:
    """da4ml holds ``-(x0 + 2 x1) + c`` negated; floor(-u) = ~floor(u - lsb) avoids its negation
    adder."""
    from da4ml.trace import FixedVariableArray, FixedVariableArrayInput, HWConfig, comb_trace

    inp = FixedVariableArrayInput(2, hwconf=HWConfig(1, -1, -1))
    x = inp.quantize(1, 4, 4)  # ap_fixed<9,5>: step 1/16
    v = -(x._vars[0]) - x._vars[1] * 2 + 0.3125
    assert v._factor < 0  # the case being tested
    t = rtl_dense._truncate(v, 1)  # to a grid of 1/2
    comb = comb_trace(inp, FixedVariableArray(np.array([t]), None, hwconf=v.hwconf))
    assert -3 not in [op.opcode for op in comb.ops]
    grid = np.arange(-16 * 16, 16 * 16) / 16.0  # every ap_fixed<9,5> code
    xs = np.stack(np.meshgrid(grid, grid[::7]), -1).reshape(-1, 2)
    want = np.floor((-xs[:, 0] - 2 * xs[:, 1] + 0.3125) * 2) / 2
    np.testing.assert_array_equal(comb.predict(xs).ravel(), want)


def test_truncating_an_always_negative_negated_sum() -> None:
    """A sum that is negative for every input (negative weights on unsigned ReLU codes, negative
    bias: a pruned row) has ``u - lsb >= 0``, which da4ml holds without a sign bit; its NOT
    is then ``2**I - lsb - w``, not ``-w - lsb`` (the 966/1000 RTL mismatches of the
    sparsity-0.75 bench). Every input code is checked."""
    from da4ml.trace import FixedVariableArray, FixedVariableArrayInput, HWConfig, comb_trace

    inp = FixedVariableArrayInput(2, hwconf=HWConfig(1, -1, -1))
    x = inp.quantize(0, 0, 6)  # ap_ufixed<6,0>: a ReLU output, step 1/64
    v = -(x._vars[0]) - x._vars[1] * 3 - 0.1328125  # in [-4.117, -0.133]: always negative
    assert v._factor < 0 and float(v.high) < 0  # the case being tested
    t = rtl_dense._truncate(v, 3)  # to a grid of 1/8
    comb = comb_trace(inp, FixedVariableArray(np.array([t.relu()]), None, hwconf=v.hwconf))
    grid = np.arange(64) / 64.0
    xs = np.stack(np.meshgrid(grid, grid), -1).reshape(-1, 2)
    want = np.floor((-xs[:, 0] - 3 * xs[:, 1] - 0.1328125) * 8) / 8
    np.testing.assert_array_equal(comb.predict(xs).ravel(), np.maximum(want, 0.0))
    comb = comb_trace(inp, FixedVariableArray(np.array([t]), None, hwconf=v.hwconf))
    np.testing.assert_array_equal(comb.predict(xs).ravel(), want)
