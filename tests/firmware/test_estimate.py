"""The analytic estimate against hand counts on tiny layers (constants from estimate.py's model)."""

from __future__ import annotations

import math

import pytest

from trigkit.core.errors import TrigkitError
from trigkit.firmware.estimate import (
    ActivationCost,
    DenseCost,
    dsps_per_product,
    estimate_activation,
    estimate_dense,
    estimate_layers,
)

# 3 inputs -> 2 outputs, weights [[1, 0], [0.5, 0], [0, 0.25]]: 3 non-zero, output 0 has fan-in 2.
TINY = DenseCost(
    "d1",
    n_in=3,
    n_out=2,
    nonzero=3,
    max_fan_in=2,
    weight_bits=6,
    input_bits=6,
    accum_bits=12,
    result_bits=8,
)


def test_tiny_dense_hand_count_rf1() -> None:
    e = estimate_dense(TINY, clock_period_ns=5.0)
    assert e.multiplications == 3
    assert (e.lut_multipliers, e.dsp_multipliers, e.dsp) == (3, 0, 0)  # 6x6 -> LUTs
    # LUT: ceil(3 * 0.6 * 6 * 6) = ceil(64.8) = 65 for the multipliers + 3 adders * 12 bits
    assert e.lut == 65 + 36
    # FF: 3 products * (6 + 6) bits + 2 outputs * 8 bits
    assert e.ff == 36 + 16
    # tree depth ceil(log2(2 + 1)) = 2 levels; 5 ns // 1.6 ns = 3 levels/cycle -> 1 cycle
    assert e.adder_depth == 2
    assert e.latency_cycles == 1 + 1 + 0 + 1  # mult + tree + (RF-1) + output register
    assert e.ii == 1


def test_tiny_dense_hand_count_rf3() -> None:
    e = estimate_dense(DenseCost(**{**TINY.__dict__, "reuse_factor": 3}), clock_period_ns=5.0)
    assert (e.lut_multipliers, e.ii) == (1, 3)  # ceil(3 / 3) multiplier, used 3 times
    assert e.lut == math.ceil(0.6 * 36) + 12
    assert e.ff == 12 + 16 + 2 * 12  # + accumulator registers when reused
    assert e.latency_cycles == 1 + 1 + 2 + 1


def test_wide_operands_go_to_dsp() -> None:
    e = estimate_dense(DenseCost(**{**TINY.__dict__, "weight_bits": 16, "input_bits": 16}), 5.0)
    assert (e.lut_multipliers, e.dsp_multipliers, e.dsp) == (0, 3, 3)
    assert e.lut == 3 * 12  # only the adders
    assert e.latency_cycles == 2 + 1 + 0 + 1
    resource = estimate_dense(DenseCost(**{**TINY.__dict__, "strategy": "resource"}), 5.0)
    assert resource.dsp == 3  # Resource strategy: DSPs even for narrow operands
    assert dsps_per_product(30, 20) == 2 * 2 and dsps_per_product(18, 27) == 1


def test_pruned_weights_cost_nothing() -> None:
    dense = DenseCost(
        "d",
        16,
        64,
        nonzero=16 * 64,
        max_fan_in=16,
        weight_bits=6,
        input_bits=6,
        accum_bits=16,
        result_bits=6,
    )
    pruned = DenseCost(**{**dense.__dict__, "nonzero": 16 * 64 // 4, "max_fan_in": 4})
    full, quarter = estimate_dense(dense, 5.0), estimate_dense(pruned, 5.0)
    assert quarter.multiplications * 4 == full.multiplications
    assert quarter.lut < full.lut / 3
    empty = estimate_dense(DenseCost(**{**dense.__dict__, "nonzero": 0, "max_fan_in": 0}), 5.0)
    assert (empty.lut, empty.dsp, empty.latency_cycles) == (0, 0, 1)


def test_activations_and_network_totals() -> None:
    relu = estimate_activation(ActivationCost("r", "relu", n=2, in_bits=8, out_bits=6), 5.0)
    assert (relu.lut, relu.ff, relu.latency_cycles) == (12, 12, 1)
    soft = estimate_activation(ActivationCost("s", "softmax", n=5, in_bits=8, out_bits=8), 5.0)
    # exp/inv tables 1024 x 8 = 8192 bits > 4096: BRAM, ceil(8192 / 18432) = 1 each
    assert soft.bram_18k == 2
    assert soft.latency_cycles == 4 + math.ceil(math.ceil(math.log2(5)) / 3)
    net = estimate_layers([TINY, ActivationCost("r", "relu", 2, 8, 6)], clock_period_ns=5.0)
    assert net.latency_cycles == 3 + 1 and net.latency_ns == pytest.approx(20.0)
    assert net.total("lut") == 101 + 12 and net.ii == 1 and net.source == "estimate"


def test_bad_layers_name_the_layer() -> None:
    with pytest.raises(TrigkitError, match="d1"):
        DenseCost(**{**TINY.__dict__, "reuse_factor": 0})
    with pytest.raises(TrigkitError, match="d1"):
        DenseCost(**{**TINY.__dict__, "nonzero": 7})
    with pytest.raises(TrigkitError, match="'x'.*valid"):
        estimate_activation(ActivationCost("x", "gelu", 2, 8, 8), 5.0)
    with pytest.raises(TrigkitError, match="clock"):
        estimate_layers([TINY], 0.0)


def test_layer_costs_from_firmware_network() -> None:
    from tests.firmware.fpga_nets import dense_relu_net
    from trigkit.firmware.estimate import estimate_network, layer_costs

    net = dense_relu_net(sizes=(4, 6, 3), seed=0, keep=0.5, softmax=True, reuse_factor=2)
    costs = layer_costs(net)
    assert [type(c).__name__ for c in costs] == [
        "DenseCost",
        "ActivationCost",
        "DenseCost",
        "ActivationCost",
    ]
    fc1 = net.layers[0]
    d = costs[0]
    assert d.nonzero == int((fc1.weight != 0).sum()) and d.reuse_factor == 2
    assert d.max_fan_in == int((fc1.weight != 0).sum(axis=1).max())
    assert (d.weight_bits, d.input_bits, d.accum_bits) == (
        fc1.weight_t.width,
        net.input_t.width,
        fc1.accum_t.width,
    )
    assert costs[3].kind == "softmax" and costs[3].table_size == max(
        net.layers[3].softmax.table_sizes(net.layers[2].result_t)
    )
    est = estimate_network(net)
    assert est.ii == 2 and est.clock_period_ns == net.clock_period_ns
    assert est.latency_cycles == sum(e.latency_cycles for e in est.layers)


def test_csd_digits_against_naf_identity() -> None:
    from trigkit.firmware.estimate import csd_digits

    assert [csd_digits(c) for c in (0, 1, 32, 7, -5, 15, 23)] == [0, 1, 1, 2, 2, 2, 3]
    for n in range(1, 4096):  # NAF weight = popcount(((3n) ^ n) >> 1)
        assert csd_digits(n) == bin(((3 * n) ^ n) >> 1).count("1")


def test_constant_multipliers_cost_csd_adders() -> None:
    # weights 1, 0.5, 0.25 are powers of two: shifts, no multiplier LUTs; only the 3 adders remain
    powers = estimate_dense(DenseCost(**{**TINY.__dict__, "csd_terms": 3}), 5.0)
    assert powers.lut == 3 * 12
    # one weight with two CSD digits (e.g. 7 = 8 - 1): one extra shift-add of 6 + 6 bits
    assert estimate_dense(DenseCost(**{**TINY.__dict__, "csd_terms": 4}), 5.0).lut == 12 + 36
    # a 6-bit constant weight times a 16-bit input still goes to LUTs at RF 1, to DSP at RF 3
    wide_in = {**TINY.__dict__, "input_bits": 16, "csd_terms": 3}
    assert estimate_dense(DenseCost(**wide_in), 5.0).dsp == 0
    assert estimate_dense(DenseCost(**{**wide_in, "reuse_factor": 3}), 5.0).dsp == 1
