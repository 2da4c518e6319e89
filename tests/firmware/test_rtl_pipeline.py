"""Pipeline cuts by carry-chain delay (trigkit.firmware.rtl.pipeline): hand counts on a tiny
traced graph, and a Verilator bit-exact check of a network cut that way."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.firmware.fpga_nets import dense_relu_net, random_inputs
from trigkit.core.errors import TrigkitError
from trigkit.core.tools import find_tool
from trigkit.firmware.emulate import FirmwareEmulator

pytest.importorskip("da4ml", reason="da4ml (extra 'fpga') not installed")

from trigkit.firmware.rtl import generate as rtl
from trigkit.firmware.rtl.options import RtlOptions  # noqa: E402
from trigkit.firmware.rtl.pipeline import (  # noqa: E402
    annotate,
    cutoff_for_stages,
    delay_pipeline,
    fanouts,
    op_delays,
    op_delays_for,
    rebalanced_delays,
    split_pipeline,
    stage_of_ops,
)
from trigkit.firmware.rtl.timing import TIMING_PRESETS  # noqa: E402

# FloPoCo VirtexUltrascalePlus.hpp numbers (ns), as literals
NET, LUT2, L2C, S_CO, CI_CO, CASCADE, CI_O = 0.180, 0.050, 0.011, 0.115, 0.015, 0.026, 0.116
FANOUT = 1 / 65


def _add_bias_relu():
    """(x0 + x1 + 3).relu() on 8-bit signed inputs: a 9-bit add, a 10-bit constant add, a ReLU."""
    from da4ml.trace import FixedVariableArrayInput, HWConfig, comb_trace

    inp = FixedVariableArrayInput(2, hwconf=HWConfig(1, -1, -1))
    x = inp.quantize(1, 7, 0)
    return comb_trace(inp, (x[:1] + x[1:2] + 3).relu())


def test_da4ml_counts_bias_and_relu_as_free_and_carry_model_does_not() -> None:
    from da4ml.trace.pipeline import to_pipeline

    comb = _add_bias_relu()
    assert [op.opcode for op in comb.ops] == [-1, -1, 3, 3, 0, 4, 2]
    # da4ml: the adder costs 1, the constant add and the ReLU 0 -> one stage at cutoff 1
    assert [op.latency for op in comb.ops[4:]] == [1.0, 1.0, 1.0]
    assert len(to_pipeline(comb, 1.0, verbose=False).solutions) == 1
    us = TIMING_PRESETS["ultrascale+"]
    d = op_delays(comb, op_delays_for(us))
    # 9- and 10-bit adds: 3 CARRY4s = S->CO, one CI->CO with its cascade wire, cascade, CI->O
    add = NET + LUT2 + L2C + S_CO + (CI_CO + CASCADE) + CASCADE + CI_O
    relu = NET + 8 * FANOUT + LUT2  # 9-bit ReLU: the sign bit drives all 9 output LUTs
    assert d == pytest.approx([0, 0, 0, 0, add, add, relu])
    assert fanouts(comb) == [1] * 7  # one reader each (the ReLU: the output)
    # cut every 0.6 ns: the constant add would straddle 0.6 -> starts there; the ReLU straddles 1.2
    lat = [op.latency for op in annotate(comb, d, 0.6, FANOUT).ops]
    assert lat == pytest.approx([0, 0, 0, 0, add, 0.6 + add, 1.2 + relu])
    # a reader of a value read k times starts (k - 1) fanout later: 3 readers of the adder's output
    lat = [op.latency for op in annotate(comb._replace(out_idxs=[6, 4, 4]), d, 10.0, 0.1).ops]
    assert lat == pytest.approx([0, 0, 0, 0, add, add + 0.2 + add, add + 0.2 + add + relu])
    assert len(split_pipeline(comb, d, 0.6).solutions) == 3
    pipe = delay_pipeline(comb, 0.6, us)
    assert len(pipe.solutions) == 3
    # with the whole chain in one stage's budget: one stage
    assert len(delay_pipeline(comb, 2 * add + relu + 0.01, us).solutions) == 1


def test_artix7_numbers_and_errors() -> None:
    d = op_delays_for(TIMING_PRESETS["7series"])
    # one CARRY4: net 0.3 + LUT2 0.238 + S0->O3 0.582 (no delay on the LUT->S wire)
    assert d.adder(4) == pytest.approx(0.3 + 0.238 + 0.582)
    assert d.adder(12) == pytest.approx(0.3 + 0.238 + 0.508 + 0.114 + 0.313)
    with pytest.raises(TrigkitError, match="cutoff"):
        delay_pipeline(_add_bias_relu(), 0.0, TIMING_PRESETS["7series"])
    with pytest.raises(TrigkitError, match="delay model 'fast' unknown"):
        rtl.generate_verilog(dense_relu_net(sizes=(3, 2)), "/nonexistent/never", delay_model="fast")


@pytest.mark.fpga_tools
@pytest.mark.skipif(find_tool("verilator") is None, reason="verilator not installed")
def test_carry_cuts_are_bit_exact_in_verilator(tmp_path: Path) -> None:
    net = dense_relu_net(sizes=(4, 6, 3), seed=0)
    design = rtl.generate_verilog(net, tmp_path / "prj", latency_cutoff=0.8, delay_model="carry")
    base = rtl.generate_verilog(net, tmp_path / "base", latency_cutoff=100.0, delay_model="carry")
    assert design.delay_model == "carry" and design.stages > base.stages == 1
    exe = rtl.build_simulator(design)
    emu = FirmwareEmulator(net)
    codes = emu.quantize_inputs(random_inputs(net, 300, seed=5))
    res = rtl.simulate(
        design, exe, codes, emu.run_codes(codes, upto=len(design.covered)), net.clock_period_ns
    )
    assert res.mismatches == 0 and res.ii == 1 and res.latency_cycles == design.stages + 1


def test_auto_cutoffs_of_the_carry_model_are_ns() -> None:
    from trigkit.firmware.rtl.cutoff import candidates_by_stages
    from trigkit.firmware.rtl.options import DEFAULT_CUTOFFS, DEFAULT_CUTOFFS_NS, parse_cutoffs

    assert (
        parse_cutoffs("auto", "carry") == DEFAULT_CUTOFFS_NS
        and parse_cutoffs("auto") == DEFAULT_CUTOFFS
    )
    net = dense_relu_net(sizes=(4, 6, 3), seed=0)
    cands = candidates_by_stages(net, (0.8, 1.5, 100.0), "carry", TIMING_PRESETS["ultrascale+"])
    stages = [s for s, _ in cands]
    assert stages == sorted(set(stages)) and stages[0] == 1 and cands[0][1] == 100.0


def test_rebalancing_scales_each_stage_by_its_netlist_path() -> None:
    comb = _add_bias_relu()
    d = op_delays(comb, op_delays_for(TIMING_PRESETS["ultrascale+"]))
    # cut every 0.6 ns: adder, constant add and ReLU each in its own stage (see above)
    assert stage_of_ops(comb, d, 0.6) == [-1, -1, -1, -1, 0, 1, 2]
    # stage 0 came out twice as long as the cutoff, stage 1 as long, stage 2 untimed
    got = rebalanced_delays(comb, d, 0.6, [1.2, 0.6, None])
    assert got == pytest.approx(d[:4] + [d[4] * 2**0.5, d[5], d[6]])
    assert rebalanced_delays(comb, d, 0.6, [1.2, 0.3, None], damping=1.0)[4:6] == pytest.approx(
        [2 * d[4], d[5] / 2]
    )
    with pytest.raises(TrigkitError, match="damping"):
        rebalanced_delays(comb, d, 0.6, [1.0, 1.0, 1.0], damping=0.0)


def test_cutoff_for_stages_is_the_smallest_keeping_the_count() -> None:
    comb = _add_bias_relu()
    d = op_delays(comb, op_delays_for(TIMING_PRESETS["ultrascale+"]))
    for stages in (1, 2, 3):
        c = cutoff_for_stages(comb, d, stages, tol=0.001)
        assert len(split_pipeline(comb, d, c).solutions) <= stages
        assert len(split_pipeline(comb, d, c - 0.002).solutions) > stages
    assert cutoff_for_stages(comb, d, 1, tol=0.001) == pytest.approx(sum(d), abs=0.001)


def test_stage_paths_follow_da4ml_register_names() -> None:
    from types import SimpleNamespace

    from trigkit.firmware.rtl.cutoff import stage_paths

    timing = SimpleNamespace(
        per_register={"stage1.model_inp": 1.5, "stage3.model_inp": 0.7, "model_out": 2.0}
    )
    assert stage_paths(timing, 4) == [1.5, None, 0.7, 2.0]


@pytest.mark.fpga_tools
@pytest.mark.skipif(
    find_tool("verilator") is None or find_tool("yosys") is None,
    reason="verilator and yosys needed",
)
def test_rebalanced_flow_keeps_the_best_design_and_stays_bit_exact(tmp_path: Path) -> None:
    from trigkit.firmware.rtl.flow import run_rtl_flow

    net = dense_relu_net(sizes=(4, 6, 3), seed=0).with_(
        clock_period_ns=0.5
    )  # never met: every step runs
    opts = RtlOptions(cutoffs=(0.8,), delay_model="carry", rebalance=2)
    rep = run_rtl_flow(net, tmp_path / "carry", opts, n_samples=200)
    trials = rep.cutoff_search
    assert [t.rebalance_step for t in trials] == [0, 1, 2]
    assert all(t.stages <= trials[0].stages and t.critical_path_ns for t in trials)
    best = min(trials, key=lambda t: t.critical_path_ns)
    assert rep.timing.critical_path_ns == pytest.approx(best.critical_path_ns)
    assert rep.design.rebalance_step == best.rebalance_step and rep.design.stages == best.stages
    assert (
        rep.sim.mismatches == 0
        and rep.sim.ii == 1
        and rep.sim.latency_cycles == rep.design.stages + 1
    )


@pytest.mark.fpga_tools
@pytest.mark.skipif(
    find_tool("verilator") is None or find_tool("yosys") is None,
    reason="verilator and yosys needed",
)
def test_cutoff_search_rebalances_candidates_that_miss(tmp_path: Path) -> None:
    from trigkit.firmware.rtl.flow import run_rtl_flow

    net = dense_relu_net(sizes=(4, 6, 3), seed=0).with_(clock_period_ns=0.5)
    opts = RtlOptions(cutoffs=(0.8, 100.0), delay_model="carry", rebalance=1)
    rep = run_rtl_flow(net, tmp_path, opts, n_samples=100)
    steps = {(t.stages, t.rebalance_step) for t in rep.cutoff_search}
    assert any(step == 1 for _, step in steps) and any(step == 0 for _, step in steps)
    timed = [t for t in rep.cutoff_search if t.critical_path_ns is not None]
    assert rep.timing.critical_path_ns == pytest.approx(min(t.critical_path_ns for t in timed))
    assert rep.sim.mismatches == 0


@pytest.mark.fpga_tools
@pytest.mark.skipif(
    find_tool("verilator") is None or find_tool("yosys") is None,
    reason="verilator and yosys needed",
)
def test_rebalancing_goes_on_until_the_slack_asked_for(tmp_path: Path) -> None:
    from trigkit.firmware.rtl.flow import run_rtl_flow

    net = dense_relu_net(sizes=(4, 6, 3), seed=0).with_(clock_period_ns=50.0)  # met at once
    kw = {"cutoffs": (0.8,), "delay_model": "carry", "rebalance": 2}
    just = run_rtl_flow(net, tmp_path / "met", RtlOptions(**kw), n_samples=50)
    assert [t.rebalance_step for t in just.cutoff_search] == [0] and just.timing.meets(50.0)
    # 1000 ns of slack is never reached: every step runs, the fastest design is kept
    far = run_rtl_flow(net, tmp_path / "slack", RtlOptions(**kw, min_slack_ns=1000.0), n_samples=50)
    assert [t.rebalance_step for t in far.cutoff_search] == [0, 1, 2]
    assert far.timing.critical_path_ns == pytest.approx(
        min(t.critical_path_ns for t in far.cutoff_search)
    )
