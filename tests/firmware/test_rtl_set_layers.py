"""RTL of the set layers and extra activations (rtl/set_layers): bit-exact with the emulator.

Small hand-built set networks (3-4 constituents, 2-4 features) cover every branch: pointwise and
conv1d ('same' and 'valid' windows), ReLU / LeakyReLU / ReLU6 (capped at 6 and saturating
below it), mean pools over a power-of-two and other constituent counts, signed and unsigned, on
the adder tree and on the literal rounding/saturating chain. da4ml's interpreter is checked
against FirmwareEmulator after every layer; one network goes through Verilator.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.firmware.fpga_nets import _on_grid
from trigkit.core.tools import find_tool
from trigkit.firmware.emulate import FirmwareEmulator
from trigkit.fixedpoint.fixed import FixedType
from trigkit.fixedpoint.network import FirmwareLayer, FirmwareNetwork
from trigkit.fixedpoint.random_net import edge_inputs

pytest.importorskip("da4ml", reason="da4ml (extra 'fpga') not installed")

from trigkit.firmware.rtl import generate as rtl
from trigkit.firmware.rtl import set_layers as rtl_sets

IN_T = FixedType(10, 3, True, "AP_RND", "AP_SAT")
W_T, B_T = FixedType(6, 1), FixedType(6, 1)
ACC_T = FixedType(26, 12)
HID_T = FixedType(9, 3, True, "AP_RND", "AP_SAT")
N_CHAN, N_FILT = 3, 4

ACTS = {  # name: (kind, result_t, alpha)
    "relu": ("relu", FixedType(8, 3, False, "AP_RND", "AP_SAT"), None),
    "leaky": ("leaky_relu", HID_T, 0.296875),  # 38 / 128: a shift-add product
    "leaky_big": ("leaky_relu", HID_T, -1.25),
    "relu6": ("relu6", FixedType(8, 3, False, "AP_RND", "AP_SAT"), None),  # max 7.97: cap 6
    "relu6_low": ("relu6", FixedType(6, 2, False, "AP_TRN", "AP_SAT"), None),  # max 3.94
}
FIRST = {  # name: (kind, n_const, filt_width, pad)
    "pointwise": ("pointwise", 4, 1, (0, 0)),
    "conv_same": ("conv1d", 4, 3, (1, 1)),
    "conv_valid": ("conv1d", 4, 2, (0, 0)),  # 3 output positions: the pool divides by 3
    "conv_left": ("conv1d", 5, 3, (2, 0)),  # pads on the left only, a pool over 5
}


def _pool_acc(act_t: FixedType, literal: bool) -> FixedType:
    if literal:  # fewer fraction bits than the input and saturating: the literal chain
        return FixedType(9, 5, True, "AP_RND", "AP_SAT")
    return FixedType(act_t.width + 4, act_t.integer + 4, act_t.signed)


def set_net(first: str, act: str, literal_pool: bool = False, seed: int = 0) -> FirmwareNetwork:
    """``first`` -> activation -> mean_pool -> dense(3) -> relu6 -> dense(2)."""
    rng = np.random.default_rng(seed)
    kind, n_const, k, pad = FIRST[first]
    act_kind, act_t, alpha = ACTS[act]
    n_pos = n_const + pad[0] + pad[1] - k + 1
    w = _on_grid(rng, (N_FILT, k * N_CHAN), W_T, 0.8)
    layers = [
        FirmwareLayer(
            "fc1",
            kind,
            n_const * N_CHAN,
            n_pos * N_FILT,
            HID_T,
            w,
            _on_grid(rng, (N_FILT,), B_T, 1),
            W_T,
            B_T,
            ACC_T,
            n_const=n_const,
            filt_width=k,
            pad=pad,
        ),
        FirmwareLayer(
            "act1",
            act_kind,
            n_pos * N_FILT,
            n_pos * N_FILT,
            act_t,
            n_const=n_pos,
            alpha=alpha,
            param_t=FixedType(8, 2) if alpha is not None else None,
        ),
        FirmwareLayer(
            "pool",
            "mean_pool",
            n_pos * N_FILT,
            N_FILT,
            FixedType(10, 3, True, "AP_RND", "AP_SAT"),
            accum_t=_pool_acc(act_t, literal_pool),
            n_const=n_pos,
        ),
    ]
    prev = N_FILT
    for name, n_out, res in (
        ("fc2", 3, HID_T),
        ("fc3", 2, FixedType(12, 4, True, "AP_RND", "AP_SAT")),
    ):
        layers.append(
            FirmwareLayer(
                name,
                "dense",
                prev,
                n_out,
                res,
                _on_grid(rng, (n_out, prev), W_T, 0.9),
                _on_grid(rng, (n_out,), B_T, 1),
                W_T,
                B_T,
                ACC_T,
            )
        )
        if name == "fc2":
            layers.append(
                FirmwareLayer("six", "relu6", 3, 3, FixedType(8, 3, False, "AP_RND", "AP_SAT"))
            )
        prev = n_out
    return FirmwareNetwork(
        "sets", IN_T, tuple(f"x{i}" for i in range(n_const * N_CHAN)), tuple(layers)
    )


def _check_every_layer(net: FirmwareNetwork, n: int = 3000) -> None:
    emu = FirmwareEmulator(net)
    codes = emu.quantize_inputs(edge_inputs(net, n, seed=5))
    x = np.ldexp(codes.astype(np.float64), -net.input_t.frac)
    for upto in range(1, len(net.layers) + 1):
        got = rtl.trace_network(net, upto).predict(x)
        want = np.ldexp(
            emu.run_codes(codes, upto=upto).astype(np.float64), -net.layers[upto - 1].result_t.frac
        )
        np.testing.assert_array_equal(got, want, err_msg=f"after layer {upto}")


CASES = [  # every first layer, every activation, pools over 3, 4 and 5 constituents
    ("pointwise", "relu"),
    ("pointwise", "relu6_low"),
    ("conv_same", "leaky"),
    ("conv_valid", "leaky_big"),
    ("conv_left", "relu6"),
    ("conv_valid", "relu"),
]


@pytest.mark.parametrize("first, act", CASES)
def test_set_network_trace_is_bit_exact(first: str, act: str) -> None:
    _check_every_layer(set_net(first, act))


@pytest.mark.parametrize("first", ["pointwise", "conv_valid"])
def test_literal_pool_chain_is_bit_exact(first: str) -> None:
    """A pool accumulator with fewer fraction bits than its input rounds (and saturates) at every
    addition: traced as hls4ml's chain, not as one adder tree."""
    net = set_net(first, "leaky", literal_pool=True, seed=1)
    assert not rtl_sets._pool_sum_exact(net.layers[2], net.layers[1].result_t)
    _check_every_layer(net)


def test_pointwise_is_one_adder_graph_per_constituent() -> None:
    """The per-constituent dense is instantiated once per constituent with the same constants:
    the traced op count grows with the constituents, one copy each."""

    def ops(n_const: int) -> int:
        net = set_net("pointwise", "relu", seed=2)
        fc1 = net.layers[0]
        one = FirmwareLayer(
            "fc1",
            "pointwise",
            n_const * N_CHAN,
            n_const * N_FILT,
            fc1.result_t,
            fc1.weight,
            fc1.bias,
            W_T,
            B_T,
            ACC_T,
            n_const=n_const,
        )
        small = FirmwareNetwork("p", IN_T, tuple(f"x{i}" for i in range(n_const * N_CHAN)), (one,))
        return len(rtl.trace_network(small).ops)

    base = ops(1)
    assert ops(2) - base == ops(3) - ops(2) > 0


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6, 7, 8, 12])
@pytest.mark.parametrize("signed", [True, False])
def test_trunc_div_on_every_code(n: int, signed: bool) -> None:
    """C's ``/`` (towards zero) of every code of an accumulator by the constituent count."""
    from da4ml.trace import FixedVariableArray, FixedVariableArrayInput, HWConfig, comb_trace

    t = FixedType(11, 6, signed)
    inp = FixedVariableArrayInput(1, hwconf=HWConfig(1, -1, -1))
    x = inp.quantize(*t.kif)
    q = rtl_sets.trunc_div(x._vars[0], n, t.frac)
    comb = comb_trace(inp, FixedVariableArray(np.array([q]), None, hwconf=x.hwconf))
    codes = np.arange(t.min_code, t.max_code + 1)
    got = comb.predict(np.ldexp(codes.astype(np.float64), -t.frac)[:, None]).ravel()
    want = np.trunc(codes / n)  # exact: |codes| < 2**11
    np.testing.assert_array_equal(np.ldexp(got, t.frac), want)


@pytest.mark.slow
@pytest.mark.fpga_tools
@pytest.mark.skipif(find_tool("verilator") is None, reason="verilator not installed")
def test_set_network_verilator_bit_exact(tmp_path: Path) -> None:
    from trigkit.firmware.rtl.flow import run_rtl_flow

    net = set_net("conv_same", "leaky", seed=3)
    rep = run_rtl_flow(net, tmp_path, n_samples=300, synth=False)
    assert rep.sim.mismatches == 0 and rep.sim.n_samples == 300 and rep.sim.ii == 1
    assert rep.sim.latency_cycles == rep.design.stages + 1
    assert rep.design.covered == tuple(layer.name for layer in net.layers)
