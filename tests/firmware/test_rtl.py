"""RTL path: da4ml trace == emulator; Verilator cycle-by-cycle == emulator; yosys counts parsed.

Tool-free tests run everywhere da4ml is installed; the Verilator/yosys ones skip with a reason
when the tools are absent. One tiny network, built once per session.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from tests.firmware.fpga_nets import dense_relu_net, random_inputs
from trigkit.core.errors import TrigkitError
from trigkit.core.tools import find_tool
from trigkit.firmware.emulate import FirmwareEmulator
from trigkit.fixedpoint.fixed import FixedType
from trigkit.fixedpoint.network import FirmwareLayer

pytest.importorskip("da4ml", reason="da4ml (extra 'fpga') not installed")

from trigkit.firmware.rtl import generate as rtl
from trigkit.firmware.rtl.options import RtlOptions
from trigkit.firmware.rtl.report import RTL_REPORT_NAME, RtlReport

NEEDS_VERILATOR = pytest.mark.skipif(
    find_tool("verilator") is None, reason="verilator not installed"
)
NEEDS_YOSYS = pytest.mark.skipif(find_tool("yosys") is None, reason="yosys not installed")


def test_da4ml_trace_is_bit_exact_with_emulator() -> None:
    """da4ml's own interpreter on the traced graph == FirmwareEmulator (no HDL tools needed)."""
    net = dense_relu_net(sizes=(5, 7, 4), seed=3, softmax=True)
    emu = FirmwareEmulator(net)
    codes = emu.quantize_inputs(random_inputs(net, 500))
    assert rtl.rtl_layer_count(net) == len(net.layers)  # softmax included (lookup tables)
    comb = rtl.trace_network(net)
    x = np.ldexp(codes.astype(np.float64), -net.input_t.frac)
    got = comb.predict(x)
    want = np.ldexp(emu.run_codes(codes).astype(np.float64), -net.output_t.frac)
    np.testing.assert_array_equal(got, want)
    # and without the softmax: the logits
    n = len(net.layers) - 1
    logits = rtl.trace_network(net, n).predict(x)
    want = np.ldexp(
        emu.run_codes(codes, upto=n).astype(np.float64), -net.layers[n - 1].result_t.frac
    )
    np.testing.assert_array_equal(logits, want)


def test_refusals_name_the_layer() -> None:
    net = dense_relu_net(sizes=(3, 2))
    fc = net.layers[0]
    narrow = dataclasses.replace(fc, accum_t=FixedType(12, 8))
    with pytest.raises(TrigkitError, match="fc1.*accum"):
        rtl.trace_network(net.with_(layers=(narrow,)))
    conv = dataclasses.replace(fc, result_t=FixedType(12, 6, rounding="AP_RND_CONV"))
    with pytest.raises(TrigkitError, match="fc1.*AP_RND_CONV"):
        rtl.trace_network(net.with_(layers=(conv,)))
    sig = FirmwareLayer("sig", "sigmoid", 2, 2, FixedType(8, 1, signed=False))
    with pytest.raises(TrigkitError, match="'sig' \\(sigmoid\\) has no RTL"):
        rtl.rtl_layer_count(net.with_(layers=(fc, sig)))


YOSYS_STAT = """
=== trignet ===

   Number of wires:               1234
   Number of wire bits:           5678
   Number of cells:                 11
     BUFG                            1
     CARRY4                         30
     DSP48E2                         2
     FDRE                          100
     FDSE                            7
     IBUF                           41
     INV                             5
     LUT2                           50
     LUT6                           20
     RAMB18E2                        1
     SRL16E                          3

"""


def test_parse_yosys_stat_counts() -> None:
    s = rtl.parse_yosys_stat(YOSYS_STAT, "xcup")
    assert (s.lut, s.ff, s.dsp, s.carry, s.bram) == (50 + 20 + 3 + 5, 107, 2, 30, 1)
    with pytest.raises(TrigkitError, match="cells"):
        rtl.parse_yosys_stat("nothing here", "xcup")


def test_rtl_report_json_round_trip() -> None:
    design = rtl.RtlDesign(
        "/x", "t", 3, 2, (1, 4, 5), (1, 6, 6), 2, ("fc1",), ("softmax",), 5, 6, 100.0, 40, 5.0
    )
    rep = RtlReport(
        design, rtl.RtlSimResult(3, 1, 10, 0, 5.0), rtl.parse_yosys_stat(YOSYS_STAT, "xcup")
    )
    again = RtlReport.from_json(rep.to_json())
    assert again == rep and again.sim.latency_ns == 15.0
    with pytest.raises(TrigkitError):
        RtlReport.from_json({"design": {}})


@pytest.fixture(scope="session")
def tiny_rtl(tmp_path_factory: pytest.TempPathFactory):
    if find_tool("verilator") is None:
        pytest.skip("verilator not installed")
    net = dense_relu_net(sizes=(4, 6, 3), seed=0, softmax=True)
    design = rtl.generate_verilog(net, tmp_path_factory.mktemp("rtl") / "prj")
    exe = rtl.build_simulator(design)
    return net, design, exe


@pytest.mark.fpga_tools
@NEEDS_VERILATOR
def test_verilator_cycle_by_cycle_bit_exact(tiny_rtl) -> None:
    net, design, exe = tiny_rtl
    emu = FirmwareEmulator(net)
    codes = emu.quantize_inputs(random_inputs(net, 300, seed=7))
    expected = emu.run_codes(codes, upto=len(design.covered))
    res = rtl.simulate(design, exe, codes, expected, net.clock_period_ns)
    assert res.mismatches == 0 and res.n_samples == 300
    # da4ml's pipeline registers the input, then each stage: latency = stages + 1 clock edges
    assert res.latency_cycles == design.stages + 1
    assert res.ii == 1  # a new input on every edge, every output right
    assert res.latency_ns == res.latency_cycles * 5.0
    assert design.excluded == () and design.covered[-1] == "softmax"
    # the Vivado project da4ml writes targets the network's part, not da4ml's default
    tcl = (Path(design.path) / "build_vivado_prj.tcl").read_text()
    assert f'set device "{net.part}"' in tcl


@pytest.mark.fpga_tools
@NEEDS_VERILATOR
def test_wrong_reference_is_detected(tiny_rtl) -> None:
    net, design, exe = tiny_rtl
    emu = FirmwareEmulator(net)
    codes = emu.quantize_inputs(random_inputs(net, 50, seed=8))
    expected = emu.run_codes(codes, upto=len(design.covered)) + 1
    with pytest.raises(TrigkitError, match="does not reproduce"):
        rtl.simulate(design, exe, codes, expected, net.clock_period_ns, max_ii=1)


@pytest.mark.fpga_tools
@NEEDS_YOSYS
def test_yosys_counts(tiny_rtl) -> None:
    net, design, _ = tiny_rtl
    s = rtl.synthesize(design)
    assert s.lut > 0
    # dense layers are adder graphs (no multipliers); only softmax's exp * 1/x products may use DSPs
    assert s.dsp <= net.n_outputs
    # every flip-flop is a pipeline register bit of da4ml's design (yosys may drop constant ones)
    assert 0 < s.ff <= design.reg_bits + design.out_bw * design.n_out
    assert Path(design.path, "yosys.log").is_file()


def test_rtl_report_round_trip_with_timing_and_search() -> None:
    from trigkit.firmware.rtl.cutoff import CutoffTrial
    from trigkit.firmware.rtl.timing import TimingResult

    design = rtl.RtlDesign(
        "/x", "t", 3, 2, (1, 4, 5), (1, 6, 6), 2, ("fc1",), (), 5, 6, 100.0, 40, 4.0
    )
    timing = TimingResult(
        3.2,
        5,
        2.0,
        1.2,
        4,
        "a_q",
        "b (FDRE.D)",
        ("FDRE clk->Q 0.303",),
        {"b": 3.2},
        7,
        0.3,
        0.0,
        1.0,
        0.1,
    )
    trials = (
        CutoffTrial(6.0, 1, 5.1, 8, False, 100, 50),
        CutoffTrial(4.0, 2, 3.2, 5, True, 110, 80),
    )
    rep = RtlReport(design, rtl.RtlSimResult(3, 1, 10, 0, 5.0), None, timing, trials)
    again = RtlReport.from_json(json.loads(json.dumps(rep.to_json())))
    assert (
        again == rep and again.timing.meets(5.0) and trials[0].fmax_mhz == pytest.approx(1000 / 5.1)
    )
    old = rep.to_json()
    del old["timing"], old["cutoff_search"]  # bundles written before the timing estimate
    assert RtlReport.from_json(old).timing is None


def test_cutoff_parsing_and_bisection() -> None:
    from trigkit.firmware.rtl.cutoff import CutoffTrial, bisect_fewest_stages
    from trigkit.firmware.rtl.options import DEFAULT_CUTOFFS, parse_cutoffs

    assert parse_cutoffs("5") == (5.0,) and parse_cutoffs("auto") == DEFAULT_CUTOFFS
    assert parse_cutoffs(" 3, 4.5,6 ") == (3.0, 4.5, 6.0)
    for bad in ("fast", "0", "3,-1", ""):
        with pytest.raises(TrigkitError, match="--rtl-cutoff"):
            parse_cutoffs(bad)
    cands = [(3, 12.0), (4, 9.0), (5, 7.0), (7, 5.0), (9, 4.0), (12, 3.0), (17, 2.0)]
    calls: list[int] = []

    def evaluate(stages: int, cutoff: float, need: int = 7) -> CutoffTrial:
        calls.append(stages)
        path = 30.0 / stages  # deeper pipeline, shorter path
        return CutoffTrial(cutoff, stages, path, stages, stages >= need)

    chosen, trials = bisect_fewest_stages(cands, evaluate)
    assert chosen.stages == 7 and chosen.latency_cutoff == 5.0
    assert len(calls) <= 3 and [t.stages for t in trials] == sorted(calls)
    calls.clear()
    chosen, trials = bisect_fewest_stages(cands, lambda s, c: evaluate(s, c, need=99))
    assert chosen.stages == 17 and not chosen.meets  # none meets: the shortest path
    failing = lambda s, c: CutoffTrial(c, s, None, None, False, error="no timing model for DSP48E2")  # noqa: E731
    with pytest.raises(TrigkitError, match="cutoff 5: no timing model for DSP48E2"):
        bisect_fewest_stages(cands, failing)


@pytest.mark.fpga_tools
@NEEDS_YOSYS
def test_yosys_netlist_timing(tmp_path: Path) -> None:
    from trigkit.firmware.rtl.timing import NETLIST_NAME, TimingModel, estimate_timing

    # no softmax: its multipliers/tables map to DSP48E2/RAMB18E2, which the techlib does not time
    design = rtl.generate_verilog(dense_relu_net(sizes=(4, 6, 3), seed=0), tmp_path / "prj")
    rtl.synthesize(design)
    t = estimate_timing(Path(design.path) / NETLIST_NAME)
    assert t.critical_path_ns > 0 and t.logic_levels >= 1 and t.endpoints > 0
    assert max(t.per_register.values()) == pytest.approx(t.critical_path_ns)
    # the routing share is net_ns per routed hop
    assert t.route_ns == pytest.approx(0.3 * t.routed_hops)
    t0 = estimate_timing(Path(design.path) / NETLIST_NAME, TimingModel(net_ns=0.0))
    assert t0.critical_path_ns <= t.critical_path_ns


@pytest.mark.fpga_tools
@NEEDS_VERILATOR
@NEEDS_YOSYS
def test_flow_chooses_cutoff_by_timing(tmp_path: Path) -> None:
    from trigkit.firmware.rtl.flow import run_rtl_flow

    net = dense_relu_net(sizes=(4, 6, 3), seed=0)
    rep = run_rtl_flow(net, tmp_path, RtlOptions(cutoffs=(1.0, 2.0, 100.0)), n_samples=100)
    assert rep.timing is not None and rep.synth is not None and rep.cutoff_search
    assert rep.design.latency_cutoff in (1.0, 2.0, 100.0)
    assert rep.sim.latency_cycles == rep.design.stages + 1 and rep.sim.mismatches == 0
    chosen = next(t for t in rep.cutoff_search if t.latency_cutoff == rep.design.latency_cutoff)
    assert (
        chosen.critical_path_ns == rep.timing.critical_path_ns
        and chosen.stages == rep.design.stages
    )
    meeting = [t for t in rep.cutoff_search if t.meets]
    if meeting:  # the fewest stages among those that meet the 5 ns clock
        assert chosen.meets and chosen.stages == min(t.stages for t in meeting)
    assert json.loads((tmp_path / RTL_REPORT_NAME).read_text())["timing"]["critical_path_ns"] > 0


@pytest.mark.slow
@pytest.mark.fpga_tools
@NEEDS_VERILATOR
def test_pruned_network_with_cutoff_is_bit_exact(tmp_path: Path) -> None:
    """The bench's sparsity-0.75 / cutoff-8 case, small: 75 % of the 6-bit weights pruned leaves
    rows of negative weights on ReLU codes with a negative bias, sums that are always negative
    (their shallow truncation once came out positive: every sample mismatched)."""
    from trigkit.benchmarks.firmware import jet_tagger_6bit
    from trigkit.firmware.rtl.flow import run_rtl_flow

    net = jet_tagger_6bit((8, 12, 8, 3), seed=0, sparsity=0.75, softmax=None)
    fc2 = net.layers[2]  # between two ReLUs: the fused dense+ReLU lowering
    assert fc2.weight is not None and fc2.bias is not None
    negative = (fc2.weight <= 0).all(axis=1) & (fc2.weight < 0).any(axis=1) & (fc2.bias < 0)
    assert negative.any()  # the case being tested: a sum negative for every ReLU input
    rep = run_rtl_flow(net, tmp_path, RtlOptions(cutoffs=(8.0,)), n_samples=300, synth=False)
    assert rep.sim.mismatches == 0 and rep.sim.n_samples == 300 and rep.sim.ii == 1
    assert rep.design.latency_cutoff == 8.0
