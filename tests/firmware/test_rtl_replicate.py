"""Register replication (trigkit.firmware.rtl.replicate): hand counts on a hand-written da4ml
stage module, and a network whose replicated design stays bit-exact in Verilator and whose
copies survive yosys."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from tests.firmware.fpga_nets import dense_relu_net, random_inputs
from trigkit.core.errors import TrigkitError
from trigkit.core.tools import find_tool
from trigkit.firmware.emulate import FirmwareEmulator
from trigkit.firmware.rtl.replicate import (
    _concat,
    _groups,
    _Stage,
    replicate_registers,
    replicate_stage,
)

# v0 (model_inp[5:2]) is read by 5 ops: 3 directly, 2 through the alias v2 = v0[3:1]; v1 by one op
STAGE = """module net_stage1 (
    input [7:0] model_inp,
    output [11:0] model_out
);

    wire [3:0] v0; assign v0[3:0] = model_inp[5:2];
    wire [1:0] v1; assign v1[1:0] = model_inp[7:6];
    wire [2:0] v2; assign v2[2:0] = v0[3:1];
    wire [4:0] v3; shift_adder #(4, 2, 0, 0, 5, 0, 0) op_3 (v0[3:0], v1[1:0], v3[4:0]);
    wire [0:0] v4; assign v4[0:0] = |v2;
    wire [3:0] v5; assign v5[3:0] = v0[3:0] & {4{~v2[2]}};
    wire [2:0] v6; mux #(3, 3, 0, 0, 3, 0, 0) op_6 (v0[0], v2[2:0], v2[2:0], v6[2:0]);
    assign model_out[4:0] = v3[4:0];
    assign model_out[5:5] = v4[0:0];
    assign model_out[8:6] = v6[2:0];
    assign model_out[11:9] = v2[2:0];

endmodule"""


def test_parse_follows_aliases_to_the_register_bits() -> None:
    st = _Stage.parse(STAGE)
    assert st.taps == {"v0": (4, 2, 5), "v1": (2, 6, 6)}
    assert st.roots["v2"] == [("v0", 1), ("v0", 2), ("v0", 3)]
    loads = st.loads()
    per_bit = Counter(b for _, bits in loads["v0"] for b in bits)
    # bit 0: op_3, v5, op_6 (select); bits 1-2: op_3, v4, v5, op_6, model_out; bit 3 also v5's mask
    assert per_bit == {0: 3, 1: 5, 2: 5, 3: 5}
    assert [len(bits) for _, bits in loads["v1"]] == [2]


def test_groups_are_balanced_and_in_order() -> None:
    reads = [(j, frozenset({0})) for j in range(17)]
    groups = _groups(reads, 16)
    assert [len(g) for g in groups] == [9, 8] and [j for g in groups for j, _ in g] == list(
        range(17)
    )
    assert _groups(reads, 17) == [reads]
    assert [len(g) for g in _groups(reads, 5)] == [5, 4, 4, 4]


def test_concat_folds_runs() -> None:
    assert _concat(["a[3]", "a[2]", "b[0]", "a[1]"]) == "{a[3:2], b[0], a[1]}"


def test_replicated_stage_reads_each_bit_at_most_max_fanout_times() -> None:
    new, copies = replicate_stage(STAGE, 2)
    # bits 1-3 of v0 have 5 loads -> 3 groups (2, 2, 1) -> 2 copies each; bit 0 (3 loads) -> 1 copy
    assert sorted(Counter(c.source for c in copies).items()) == [(2, 1), (3, 2), (4, 2), (5, 2)]
    assert [c.index for c in copies] == list(range(len(copies)))
    assert "input [6:0] model_dup," in new
    st = _Stage.parse(new.replace("model_dup", "model_inp_dup"))  # copies are not taps
    loads = Counter()
    for refs in st.reads.values():
        for bit in {b for *_, src in refs for b in src}:
            loads[bit] += 1
    assert max(loads.values()) <= 2
    lines = new.splitlines()  # copy 1 is read by v5 and op_6, copy 2 by the model_out pass-through
    assert [sum(f"v0_c{c}[" in line for line in lines) for c in (1, 2)] == [1 + 2, 1 + 1]
    assert replicate_stage(STAGE, 5) == (STAGE, [])


def test_bad_input_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TrigkitError, match=">= 2"):
        replicate_registers(tmp_path, "net", 1, 1)
    (tmp_path / "net.v").write_text("module net(); endmodule")
    with pytest.raises(TrigkitError, match="always @"):
        replicate_registers(tmp_path, "net", 1, 4)
    # a stage needing copies that the top does not instantiate as expected: no file is touched
    top = (
        "module net(input clk);\n    net_stage1 stage1 (.model_inp(x));\n"
        "    always @(posedge clk) begin end\nendmodule"
    )
    (tmp_path / "net.v").write_text(top)
    (tmp_path / "net_stage0.v").write_text(STAGE)
    with pytest.raises(TrigkitError, match="stage0 is not instantiated"):
        replicate_registers(tmp_path, "net", 1, 2)
    assert (tmp_path / "net.v").read_text() == top and (
        tmp_path / "net_stage0.v"
    ).read_text() == STAGE


def test_stage_paths_include_the_replicated_copies() -> None:
    from types import SimpleNamespace

    from trigkit.firmware.rtl.cutoff import stage_paths

    timing = SimpleNamespace(
        per_register={"stage1.model_inp": 1.5, "stage1.model_dup": 1.7, "model_out": 2.0}
    )
    assert stage_paths(timing, 2) == [1.7, 2.0]


@pytest.mark.fpga_tools
@pytest.mark.skipif(
    find_tool("verilator") is None or find_tool("yosys") is None,
    reason="verilator and yosys needed",
)
def test_replicated_design_is_bit_exact_and_its_copies_survive_synthesis(tmp_path: Path) -> None:
    pytest.importorskip("da4ml", reason="da4ml (extra 'fpga') not installed")
    from trigkit.firmware.rtl import generate as rtl
    from trigkit.firmware.rtl.timing import (
        NETLIST_NAME,
        _Graph,
        library_for,
        load_cell_library,
        timing_model_for,
    )

    net = dense_relu_net(sizes=(6, 12, 3), seed=2)
    kw = {"latency_cutoff": 0.8, "delay_model": "carry"}
    base = rtl.generate_verilog(net, tmp_path / "base", **kw)
    rep = rtl.generate_verilog(net, tmp_path / "rep", max_fanout=2, **kw)
    assert base.replicated_ffs == 0 and rep.replicated_ffs > 0 and rep.stages == base.stages
    top = (Path(rep.path) / "src" / f"{rep.top}.v").read_text()
    assert len(re.findall(r"\bFDRE #", top)) == rep.replicated_ffs
    exe = rtl.build_simulator(rep)
    emu = FirmwareEmulator(net)
    codes = emu.quantize_inputs(random_inputs(net, 400, seed=3))
    res = rtl.simulate(
        rep, exe, codes, emu.run_codes(codes, upto=len(rep.covered)), net.clock_period_ns
    )
    assert res.mismatches == 0 and res.ii == 1 and res.latency_cycles == rep.stages + 1
    syn_base, syn_rep = rtl.synthesize(base), rtl.synthesize(rep)
    assert syn_rep.ff >= syn_base.ff + rep.replicated_ffs // 2 and syn_rep.lut >= syn_base.lut

    def netlist(design: rtl.RtlDesign) -> dict:
        return next(
            iter(json.loads((Path(design.path) / NETLIST_NAME).read_text())["modules"].values())
        )

    copies = [
        c["type"]
        for name, c in netlist(rep)["cells"].items()
        if re.fullmatch(r"stage\d+_dup_\d+", name)
    ]
    assert copies == ["FDRE"] * rep.replicated_ffs  # yosys merged none of the copies back

    def worst_register_fanout(design: rtl.RtlDesign) -> int:
        model = timing_model_for(net.part)
        g = _Graph(
            netlist(design), library_for(load_cell_library(), model.cells), model, design.path
        )
        return max(
            len(n.loads)
            for n in g.nets.values()
            if n.driver and g.type_of(n.driver[0]).startswith("FD")
        )

    assert worst_register_fanout(rep) < worst_register_fanout(base)
