"""RTL path: da4ml trace == emulator; Verilator cycle-by-cycle == emulator; yosys counts parsed.

Tool-free tests run everywhere da4ml is installed; the Verilator/yosys ones skip with a reason
when the tools are absent. One tiny network, built once per session.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from tests.firmware.fpga_nets import dense_relu_net, random_inputs
from trigkit.errors import TrigkitError
from trigkit.firmware.emulate import FirmwareEmulator
from trigkit.firmware.fixed import FixedType
from trigkit.firmware.spec import FirmwareLayer
from trigkit.firmware.tools import find_tool

pytest.importorskip("da4ml", reason="da4ml (extra 'fpga') not installed")

from trigkit.firmware import rtl  # noqa: E402

NEEDS_VERILATOR = pytest.mark.skipif(find_tool("verilator") is None, reason="verilator not installed")
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
    want = np.ldexp(emu.run_codes(codes, upto=n).astype(np.float64), -net.layers[n - 1].result_t.frac)
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
    design = rtl.RtlDesign("/x", "t", 3, 2, (1, 4, 5), (1, 6, 6), 2, ("fc1",), ("softmax",), 5, 6,
                           100.0, 40, 5.0)
    rep = rtl.RtlReport(design, rtl.RtlSimResult(3, 1, 10, 0, 5.0), rtl.parse_yosys_stat(YOSYS_STAT, "xcup"))
    again = rtl.RtlReport.from_json(rep.to_json())
    assert again == rep and again.sim.latency_ns == 15.0
    with pytest.raises(TrigkitError):
        rtl.RtlReport.from_json({"design": {}})


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
