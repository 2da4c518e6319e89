"""RTL path on a softmax with the shared type rule (trigkit.fixedpoint.softmax_types): a QAT
model's wider logit type and its n_classes-sized 1/sum type, da4ml trace == emulator."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from trigkit.compile.qat import QATConfig, quantize_module
from trigkit.firmware.emulate import FirmwareEmulator
from trigkit.fixedpoint.random_net import edge_inputs
from trigkit.fixedpoint.softmax_types import softmax_sum_t

pytest.importorskip("da4ml", reason="da4ml (extra 'fpga') not installed")

from trigkit.firmware.rtl import generate as rtl


def test_da4ml_trace_of_an_own_softmax_is_bit_exact_with_emulator() -> None:
    torch.manual_seed(0)
    module = nn.Sequential(nn.Linear(6, 10), nn.ReLU(), nn.Linear(10, 5))
    with torch.no_grad():
        module[-1].weight.mul_(8.0)  # large logits: the logit type must hold x_max - x_i
    calib = np.random.default_rng(0).normal(size=(400, 6)).astype(np.float32)
    net = quantize_module(module, QATConfig(bits=6, softmax=True), calib).to_network()
    sm = net.layers[-1].softmax
    assert sm is not None and sm.inv_inp_t == softmax_sum_t(5) != type(sm)().inv_inp_t
    emu = FirmwareEmulator(net)
    codes = emu.quantize_inputs(np.concatenate([calib, edge_inputs(net, 300, seed=1)]))
    got = rtl.trace_network(net).predict(np.ldexp(codes.astype(np.float64), -net.input_t.frac))
    want = np.ldexp(emu.run_codes(codes).astype(np.float64), -net.output_t.frac)
    assert np.isfinite(want).all() and len(np.unique(want)) > 50  # not a constant output
    np.testing.assert_array_equal(got, want)
