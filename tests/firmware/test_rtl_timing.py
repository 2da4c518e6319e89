"""RTL timing estimate: critical paths against hand counts.

The tool-free tests time hand-built netlists with a hand-built cell library; the yosys ones
synthesise a register -> N LUTs -> register chain and a two-CARRY4 cascade made of instantiated
primitives and compare with a count done by hand from the delays written in yosys's
``techlibs/xilinx/cells_sim.v`` (copied below as literals, not read from the library), and the
LUT-only chain also with yosys's own ``sta`` pass (which times LUTs but not carry chains).
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from trigkit.core.errors import TrigkitError
from trigkit.core.tools import find_tool
from trigkit.firmware.rtl.timing import (
    TIMING_PRESETS,
    CellTiming,
    TimingModel,
    TimingResult,
    analyse_netlist,
    estimate_timing,
    load_cell_library,
    timing_model_for,
)

NEEDS_YOSYS = pytest.mark.skipif(find_tool("yosys") is None, reason="yosys not installed")

# -- a hand-built library and netlist -------------------------------------------------------------

LIB = {
    "FD": CellTiming(
        frozenset({"Q"}), clk_to_q={("Q", 0): 0.3}, setup={("D", 0): 0.05, ("CE", 0): 0.1}
    ),
    "LUT2": CellTiming(frozenset({"O"}), arcs={("O", 0): ((("I0", 0), 0.2), (("I1", 0), 0.1))}),
    "CARRY4": CellTiming(
        frozenset({"CO", "O"}),
        arcs={
            ("CO", 3): ((("S", 0), 0.5), (("CI", 0), 0.1)),
            ("O", 3): ((("S", 0), 0.6), (("CI", 0), 0.3)),
        },
    ),
}


def _cell(kind: str, **conn: list) -> dict:
    return {"type": kind, "connections": conn}


def _netlist(extra: dict | None = None) -> dict:
    """Path A: fa -> la.I0 -> lb.I0 -> fb.D.
    Path B: fc -> lc.I0 -> c1.S[0] -CO[3]-> c2.CI -O[3]-> fd.D."""
    cells = {
        "fa": _cell("FD", C=[2], D=[3], CE=["1"], Q=[10]),
        "fc": _cell("FD", C=[2], D=[3], CE=["1"], Q=[11]),
        "la": _cell("LUT2", I0=[10], I1=[11], O=[20]),
        "lb": _cell("LUT2", I0=[20], I1=[10], O=[21]),
        "fb": _cell("FD", C=[2], D=[21], CE=["1"], Q=[30]),
        "lc": _cell("LUT2", I0=[11], I1=["0"], O=[40]),
        "c1": _cell(
            "CARRY4", CI=["0"], S=[40, "1", "1", "1"], CO=[50, 51, 52, 41], O=[53, 54, 55, 56]
        ),
        "c2": _cell(
            "CARRY4", CI=[41], S=["1", "1", "1", "1"], CO=[60, 61, 62, 63], O=[64, 65, 66, 42]
        ),
        "fd": _cell("FD", C=[2], D=[42], CE=["1"], Q=[31]),
    }
    cells.update(extra or {})
    names = {
        "a_q": {"bits": [10]},
        "c_q": {"bits": [11]},
        "sum": {"bits": [42]},
        "out": {"bits": [31]},
    }
    return {"modules": {"top": {"attributes": {"top": "1"}, "cells": cells, "netnames": names}}}


def test_hand_count_luts_and_carry_cascade() -> None:
    r = analyse_netlist(_netlist(), LIB, TimingModel(net_ns=0.3))
    # B: clk->Q 0.3 + net 0.3 + LUT I0 0.2 + (LUT->S dedicated) S->CO 0.5 + (CO->CI dedicated)
    #    CI->O 0.3 + net 0.3 + setup 0.05
    assert r.critical_path_ns == pytest.approx(0.3 + 0.3 + 0.2 + 0.5 + 0.3 + 0.3 + 0.05)
    assert (r.logic_levels, r.routed_hops) == (3, 2)
    assert r.route_ns == pytest.approx(0.6) and r.cell_ns == pytest.approx(1.35)
    assert r.startpoint == "c_q" and r.endpoint == "out (FD.D)"
    assert r.fmax_mhz == pytest.approx(1000 / 1.95)
    # A: 0.3 + 3 x 0.3 net + 0.2 + 0.2 + 0.05 (la's I0 beats its I1 from fc: 0.2 > 0.1); fb's
    # output net has no name, so the register goes by its cell name
    assert r.per_register == pytest.approx({"fb": 0.3 + 0.9 + 0.4 + 0.05, "out": 1.95})
    assert r.endpoints == 2


def test_zero_routing_and_fanout_term() -> None:
    r0 = analyse_netlist(_netlist(), LIB, TimingModel(net_ns=0.0))
    assert r0.critical_path_ns == pytest.approx(0.3 + 0.2 + 0.5 + 0.3 + 0.05) and r0.route_ns == 0.0
    # fanout: bit 11 (fc.Q) has 2 loads (la.I1, lc.I0): its hop costs net + 1 x fanout_ns
    rf = analyse_netlist(_netlist(), LIB, TimingModel(net_ns=0.3, fanout_ns=0.01))
    assert rf.critical_path_ns == pytest.approx(1.95 + 0.01)
    # cell_scale multiplies every cell delay (clock-to-Q, arcs, setup), not the routing
    rs = analyse_netlist(_netlist(), LIB, TimingModel(net_ns=0.3, cell_scale=0.5))
    assert rs.critical_path_ns == pytest.approx(0.6 + 1.35 * 0.5)


def test_shared_lut_output_is_routed_to_both_carries() -> None:
    """A LUT can sit in the slice of one carry chain only: two S loads -> both routed."""
    extra = {
        "c3": _cell(
            "CARRY4", CI=["0"], S=[40, "1", "1", "1"], CO=[70, 71, 72, 73], O=[74, 75, 76, 77]
        )
    }
    r = analyse_netlist(_netlist(extra), LIB, TimingModel(net_ns=0.3))
    assert r.critical_path_ns == pytest.approx(1.95 + 0.3) and r.routed_hops == 3


def test_setup_of_the_pin_counts() -> None:
    """An enable pin with a larger setup than D becomes the endpoint."""
    extra = {"fe": _cell("FD", C=[2], D=[3], CE=[42], Q=[32])}
    r = analyse_netlist(_netlist(extra), LIB, TimingModel(net_ns=0.3))
    assert r.critical_path_ns == pytest.approx(1.95 - 0.05 + 0.1) and r.endpoint.endswith("(FD.CE)")


def test_errors_name_the_problem() -> None:
    with pytest.raises(TrigkitError, match="no timing model for cell types DSP48E2 \\(1\\)"):
        analyse_netlist(_netlist({"m": _cell("DSP48E2", A=[11], P=[99])}), LIB, where="x.json")
    only_luts = {"modules": {"t": {"cells": {"l": _cell("LUT2", I0=[1], I1=[2], O=[3])}}}}
    with pytest.raises(TrigkitError, match="no register-to-register path"):
        analyse_netlist(only_luts, LIB)
    loop = _netlist(
        {
            "l1": _cell("LUT2", I0=[90], I1=[10], O=[91]),
            "l2": _cell("LUT2", I0=[91], I1=[10], O=[90]),
        }
    )
    with pytest.raises(TrigkitError, match="combinational loop"):
        analyse_netlist(loop, LIB)
    with pytest.raises(TrigkitError, match="modules"):
        analyse_netlist({}, LIB, where="empty.json")
    with pytest.raises(TrigkitError, match="net_ns"):
        TimingModel(net_ns=-1.0)


def test_result_json_round_trip_and_verdict() -> None:
    r = analyse_netlist(_netlist(), LIB, TimingModel(net_ns=0.3, uncertainty=0.1))
    again = TimingResult.from_json(json.loads(json.dumps(r.to_json())))
    assert again == r
    assert r.required_ns(5.0) == pytest.approx(4.5) and r.meets(5.0)
    assert not r.meets(2.0) and r.slack_ns(2.0) == pytest.approx(1.8 - 1.95)
    with pytest.raises(TrigkitError, match="timing JSON"):
        TimingResult.from_json({"path": []})


# FloPoCo src/Targets/VirtexUltrascalePlus.hpp (xcvu3p-2), copied here as literals, in ns
US_LUT2, US_FF, US_S_CO, US_S_O, US_CI_CO, US_CI_O = 0.050, 0.150, 0.115, 0.116, 0.015, 0.116
US_NET, US_FANOUT, US_CASCADE, US_LUT_S = 0.180, 1 / 65, 0.026, 0.011


def test_ultrascale_plus_preset_hand_count() -> None:
    """The same netlist under the UltraScale+ preset: FloPoCo's cell numbers replace the
    library's (LUT2, FF clock-to-Q, carry arcs), setup stays; dedicated wires cost their own."""
    us = TIMING_PRESETS["ultrascale+"]
    r = analyse_netlist(_netlist(), LIB, us)
    # B: fc clk->Q, routed hop with 2 loads (la.I1, lc.I0), LUT2, LUT->S wire, S->CO, cascade
    #    CO->CI, CI->O, routed hop, setup D (0.05, from LIB: FloPoCo has no setup)
    b = (
        US_FF
        + (US_NET + US_FANOUT)
        + US_LUT2
        + US_LUT_S
        + US_S_CO
        + US_CASCADE
        + US_CI_O
        + US_NET
        + 0.05
    )
    assert r.critical_path_ns == pytest.approx(b)
    assert (r.logic_levels, r.routed_hops) == (3, 2)  # the 0.011/0.026 wires are not routed hops
    # A: fa clk->Q, hop with 2 loads (la.I0, lb.I1), LUT2 (every pin 0.050), hop, LUT2, hop, setup
    a = US_FF + (US_NET + US_FANOUT) + US_LUT2 + US_NET + US_LUT2 + US_NET + 0.05
    assert r.per_register == pytest.approx({"fb": a, "out": b})
    assert r.cells == "ultrascale+" and "FloPoCo" in r.library
    # the 7-series preset is the techlib library as it is (the hand count of the first test)
    assert analyse_netlist(
        _netlist(), LIB, TIMING_PRESETS["7series"]
    ).critical_path_ns == pytest.approx(1.95)


def test_timing_model_follows_the_part() -> None:
    us, s7 = TIMING_PRESETS["ultrascale+"], TIMING_PRESETS["7series"]
    for part in (
        "xcvu9p-flga2104-2L-e",
        "xcvu13p-fhga2104-2-e",
        "xcku15p-ffva1760-2-e",
        "xczu9eg-ffvb1156-2-e",
        "xcau25p-ffvb676-2-e",
        "XCVU9P",
    ):
        assert timing_model_for(part) == us
    for part in ("xc7a35tcpg236-1", "xc7k325tffg900-2", "xc7vx690tffg1761-2", "xc7z020clg400-1"):
        assert timing_model_for(part) == s7 and s7 == TimingModel()
    assert timing_model_for("xcvu9p-flga2104-2L-e", "7series") == s7  # an explicit choice wins
    assert timing_model_for("xcku040-ffva1156-2-e", "ultrascale+") == us
    # UltraScale (not +), Versal, other vendors: no preset - the error names the valid ones
    for part in ("xcku040-ffva1156-2-e", "xcvc1902-vsva2197-2MP-e-S", "10AX115N2F40E2LG"):
        with pytest.raises(
            TrigkitError, match="no RTL timing preset.*7series.*ultrascale\\+.*--timing-model"
        ):
            timing_model_for(part)
    with pytest.raises(
        TrigkitError, match="--timing-model 'versal' unknown; valid: auto, 7series, ultrascale\\+"
    ):
        timing_model_for("xcvu9p", "versal")
    with pytest.raises(TrigkitError, match="cells 'virtex4' unknown"):
        TimingModel(cells="virtex4")


# -- through yosys ------------------------------------------------------------------------------

# delays from yosys techlibs/xilinx/cells_sim.v (Artix-7, prjxray-db), in ns
FDRE_CLK_Q, FDRE_SETUP_D, BUFG = 0.303, 0.0, 0.096
LUT2_I0 = 0.238
CARRY4_S0_CO3, CARRY4_CI_O3 = 0.508, 0.313

CHAIN_V = """
module chain(input clk, input d, input e, output reg q);
  reg r0, en;
  wire [{n}:0] w;
  assign w[0] = r0;
  always @(posedge clk) begin r0 <= d; en <= e; q <= w[{n}]; end
  genvar i;
  generate for (i = 0; i < {n}; i = i + 1) begin : g
    (* keep *) LUT2 #(.INIT(4'b0110)) l (.I0(w[i]), .I1(en), .O(w[i + 1]));
  end endgenerate
endmodule
"""

CARRY_V = """
module cc(input clk, input d, output q);
  wire s, c;
  wire [3:0] co0, o1;
  (* keep *) FDRE r0 (.C(clk), .CE(1'b1), .R(1'b0), .D(d), .Q(s));
  (* keep *) CARRY4 c0 (.CI(1'b0), .CYINIT(1'b0), .DI(4'b0000), .S({{3'b111, s}}), .CO(co0), .O());
  (* keep *) CARRY4 c1 (.CI(co0[3]), .CYINIT(1'b0), .DI(4'b0000), .S(4'b1111), .CO(), .O(o1));
  (* keep *) FDRE r1 (.C(clk), .CE(1'b1), .R(1'b0), .D(o1[3]), .Q(q));
endmodule
"""


def _synth(tmp: Path, top: str, verilog: str, sta: bool = False) -> tuple[Path, str]:
    yosys = find_tool("yosys")
    assert yosys is not None
    (tmp / f"{top}.v").write_text(verilog)
    netlist = tmp / "netlist.json"
    script = (
        f"read_verilog {top}.v\nsynth_xilinx -top {top} -family xcup -flatten\n"
        + ("tee -o sta.txt sta\n" if sta else "")
        + f"delete =A:whitebox =A:blackbox\nwrite_json {netlist}\n"
    )
    (tmp / "s.ys").write_text(script)
    subprocess.run([str(yosys.path), "-q", "-s", "s.ys"], cwd=tmp, check=True, capture_output=True)
    return netlist, (tmp / "sta.txt").read_text() if sta else ""


@pytest.mark.fpga_tools
@NEEDS_YOSYS
def test_library_has_the_techlib_delays() -> None:
    lib = load_cell_library()
    assert lib["FDRE"].clk_to_q[("Q", 0)] == FDRE_CLK_Q and lib["FDRE"].setup[("CE", 0)] == 0.109
    assert dict(lib["LUT2"].arcs[("O", 0)])[("I0", 0)] == LUT2_I0
    assert dict(lib["CARRY4"].arcs[("CO", 3)])[("CI", 0)] == 0.114
    assert lib["MUXF9"].arcs == lib["MUXF8"].arcs  # no arcs of its own in the techlib


@pytest.mark.fpga_tools
@NEEDS_YOSYS
@pytest.mark.parametrize("n", [1, 4])
def test_lut_chain_against_hand_count_and_yosys_sta(tmp_path: Path, n: int) -> None:
    netlist, sta = _synth(tmp_path, "chain", CHAIN_V.format(n=n), sta=True)
    net = 0.3
    r = estimate_timing(netlist, TimingModel(net_ns=net))
    # r0 clk->Q, then per LUT a routed hop + LUT2 I0->O, then a routed hop to r2.D (setup 0)
    assert r.critical_path_ns == pytest.approx(
        FDRE_CLK_Q + n * (net + LUT2_I0) + net + FDRE_SETUP_D
    )
    assert (r.logic_levels, r.routed_hops) == (n, n + 1)
    assert r.fmax_mhz == pytest.approx(1000 / r.critical_path_ns)
    # yosys's sta (no routing delay) includes the clock buffer on the launch side
    yosys_ps = int(re.search(r"Latest arrival time in '\w+' is (\d+)", sta).group(1))
    r0 = estimate_timing(netlist, TimingModel(net_ns=0.0))
    assert r0.critical_path_ns == pytest.approx(yosys_ps / 1000 - BUFG)


@pytest.mark.fpga_tools
@NEEDS_YOSYS
def test_carry_cascade_against_hand_count(tmp_path: Path) -> None:
    netlist, _ = _synth(tmp_path, "cc", CARRY_V)
    r = estimate_timing(netlist, TimingModel(net_ns=0.3))
    # r0.Q -> (routed: S from a flip-flop, not a LUT) c0.S[0] -> CO[3] -> (cascade) c1.CI -> O[3]
    #   -> (routed) r1.D
    assert r.critical_path_ns == pytest.approx(
        FDRE_CLK_Q + 0.3 + CARRY4_S0_CO3 + CARRY4_CI_O3 + 0.3
    )
    assert (r.logic_levels, r.routed_hops) == (2, 2)


@pytest.mark.fpga_tools
@NEEDS_YOSYS
def test_carry_cascade_and_lut_chain_under_ultrascale_plus(tmp_path: Path) -> None:
    us = TIMING_PRESETS["ultrascale+"]
    netlist, _ = _synth(tmp_path, "cc", CARRY_V)
    r = estimate_timing(netlist, us)
    # r0.Q -> routed (single load) c0.S[0] -> CO[3] -> cascade wire -> c1.CI -> O[3] -> routed r1.D
    assert r.critical_path_ns == pytest.approx(
        US_FF + US_NET + US_S_CO + US_CASCADE + US_CI_O + US_NET
    )
    assert (r.logic_levels, r.routed_hops) == (2, 2) and r.cells == "ultrascale+"
    chain = tmp_path / "chain"
    chain.mkdir()
    netlist, _ = _synth(chain, "chain", CHAIN_V.format(n=3))
    r = estimate_timing(netlist, us)
    # every LUT pin costs the same here, so the path starts at ``en``, which fans out to all three
    # LUTs (I1): one hop with 2 extra loads, then the chain's two single-load hops and the last one
    assert r.critical_path_ns == pytest.approx(
        US_FF + (US_NET + 2 * US_FANOUT) + US_LUT2 + 2 * (US_NET + US_LUT2) + US_NET
    )
    assert r.startpoint == "en"
