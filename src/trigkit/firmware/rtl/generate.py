"""RTL path (extra ``fpga``): da4ml -> Verilog -> Verilator cycle-by-cycle sim; yosys resources.

1. :func:`generate_verilog` traces the fixed-point network with da4ml 0.6
   (:mod:`trigkit.firmware.rtl.trace`: every constant matrix-vector product becomes a
   distributed-arithmetic adder graph - the shallowest one by default,
   ``delay_constraint=0`` - every cast a bit-exact ``quantize``) and writes a pipelined Verilog
   project (da4ml's ``VerilogModel``), one register stage per ``latency_cutoff`` adder delays
   (da4ml's own default: 5 at 5 ns).
2. :func:`build_simulator` verilates the design with a small C++ testbench of ours
   (``verilator --cc --exe --build``) that applies one input vector per clock edge and records the
   outputs after every edge.
3. :func:`simulate` runs it and MEASURES the latency (the shift at which the recorded outputs
   equal the reference outputs of :class:`~trigkit.firmware.emulate.FirmwareEmulator`, bit for
   bit, for every sample) and the initiation interval (the smallest input spacing for which all
   outputs are right; a new input every cycle means II = 1).
4. :func:`synthesize` runs yosys ``synth_xilinx`` and parses LUT/FF/DSP/CARRY/BRAM counts;
   :mod:`trigkit.firmware.rtl.timing` estimates the critical path of its netlist, and
   :mod:`trigkit.firmware.rtl.cutoff` can choose ``latency_cutoff`` by that estimate.

Coverage: dense, relu, linear, the set layers (pointwise, conv1d, mean_pool) and leaky_relu /
relu6 (:mod:`trigkit.firmware.rtl.set_layers`), and a final softmax (hls4ml's lookup-table
softmax rebuilt from da4ml ROMs, adders and one multiplier per output,
:mod:`trigkit.firmware.rtl.softmax`). Refused with a message naming the layer: sigmoid, products
that ``accum_t`` would round (fewer fraction bits than the product), saturating accumulators
that can overflow, and ``AP_RND_CONV`` casts (da4ml has TRN and RND only). yosys resources are in
:mod:`trigkit.firmware.rtl.synth`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from trigkit.core.errors import TrigkitError
from trigkit.core.lazy import require
from trigkit.core.tools import require_tool, run_tool
from trigkit.firmware.rtl.design import RtlDesign
from trigkit.firmware.rtl.options import DEFAULT_LATENCY_CUTOFF
from trigkit.firmware.rtl.pipeline import delay_pipeline
from trigkit.firmware.rtl.replicate import FDRE_SIM, FDRE_SIM_NAME, replicate_registers
from trigkit.firmware.rtl.synth import SynthResult, parse_yosys_stat, synthesize
from trigkit.firmware.rtl.timing import TimingModel, timing_model_for
from trigkit.firmware.rtl.trace import (
    DEFAULT_DELAY_CONSTRAINT,
    rtl_layer_count,
    trace_network,
)
from trigkit.fixedpoint.network import FirmwareNetwork

log = logging.getLogger(__name__)
__all__ = [
    "RtlDesign",
    "RtlSimResult",
    "SynthResult",
    "build_simulator",
    "generate_verilog",
    "parse_yosys_stat",
    "rtl_layer_count",
    "simulate",
    "synthesize",
    "trace_network",
]

DEFAULT_DELAY_MODEL = "da4ml"


@dataclass(frozen=True)
class RtlSimResult:
    """Cycle-by-cycle measurement: latency and II counted on the simulated clock."""

    latency_cycles: int
    ii: int
    n_samples: int
    mismatches: int
    clock_period_ns: float

    @property
    def latency_ns(self) -> float:
        return self.latency_cycles * self.clock_period_ns


# -- Verilog ------------------------------------------------------------------------------


def _max_kif(qints) -> tuple[int, int, int]:  # noqa: ANN001
    types = require("da4ml.types", "fpga")
    kifs = [types.minimal_kif(q) for q in qints]
    k = max(int(p.keep_negative) for p in kifs)
    i = max(int(p.integers) for p in kifs)
    f = max(int(p.fractional) for p in kifs)
    return k, i, f


def generate_verilog(
    network: FirmwareNetwork,
    out_dir: str | Path,
    latency_cutoff: float = DEFAULT_LATENCY_CUTOFF,
    top: str = "trignet",
    delay_model: str = DEFAULT_DELAY_MODEL,
    timing_model: TimingModel | None = None,
    delay_constraint: int = DEFAULT_DELAY_CONSTRAINT,
    op_delays: Sequence[float] | None = None,
    rebalance_step: int = 0,
    max_fanout: int = 0,
) -> RtlDesign:
    """Write a pipelined Verilog project for ``network`` into ``out_dir`` (created).

    ``delay_model`` 'da4ml': a stage every ``latency_cutoff`` da4ml adder delays; 'carry': every
    ``latency_cutoff`` ns of logic estimated from carry-chain widths with ``timing_model`` (default:
    the preset of ``network.part``), see :mod:`trigkit.firmware.rtl.pipeline`; ``op_delays``
    replaces those per-op estimates (netlist rebalancing,
    :func:`trigkit.firmware.rtl.cutoff.rebalance`);
    ``max_fanout`` > 0 replicates every stage input register bit read by more ops
    (:mod:`trigkit.firmware.rtl.replicate`)."""
    pipeline = require("da4ml.trace.pipeline", "fpga")
    codegen = require("da4ml.codegen", "fpga")
    n = rtl_layer_count(network)
    comb = trace_network(network, n, delay_constraint)
    if delay_model == "carry":
        pipe = delay_pipeline(
            comb, latency_cutoff, timing_model or timing_model_for(network.part), delays=op_delays
        )
    elif op_delays is not None:
        raise TrigkitError("per-op delays only steer the 'carry' delay model")
    elif delay_model == "da4ml":
        pipe = pipeline.to_pipeline(comb, latency_cutoff, verbose=False)
    else:
        raise TrigkitError(f"delay model '{delay_model}' unknown; valid: da4ml, carry")
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    model = codegen.VerilogModel(
        pipe,
        top,
        out_dir,
        latency_cutoff=latency_cutoff,
        print_latency=False,
        clock_period=network.clock_period_ns,
        part_name=network.part,
    )
    model.write()
    added = 0
    if max_fanout:
        added = replicate_registers(out_dir / "src", top, len(pipe.solutions), max_fanout)
    in_kif, out_kif = _max_kif(pipe.inp_qint), _max_kif(pipe.out_qint)
    for what, kif in (("input", in_kif), ("output", out_kif)):
        if sum(kif) > 32:
            raise TrigkitError(
                f"RTL {what} slots are {sum(kif)} bits wide; the testbench handles <= 32"
            )
    design = RtlDesign(
        path=str(out_dir),
        top=top,
        n_in=network.n_inputs,
        n_out=network.layers[n - 1].n_out,
        in_kif=in_kif,
        out_kif=out_kif,
        stages=len(pipe.solutions),
        covered=tuple(layer.name for layer in network.layers[:n]),
        excluded=tuple(layer.name for layer in network.layers[n:]),
        input_frac=network.input_t.frac,
        output_frac=network.layers[n - 1].result_t.frac,
        da4ml_lut_estimate=float(pipe.cost),
        reg_bits=int(pipe.reg_bits),
        latency_cutoff=float(latency_cutoff),
        delay_model=delay_model,
        delay_constraint=int(delay_constraint),
        rebalance_step=int(rebalance_step),
        max_fanout=int(max_fanout),
        replicated_ffs=added,
    )
    (out_dir / "trigkit_design.json").write_text(json.dumps(asdict(design), indent=2))
    return design


# -- Verilator ------------------------------------------------------------------------------

_TB = """// trigkit testbench: one input vector per clock edge, outputs recorded after every edge.
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>
#include "ioutil.hh"
#include "V{wrapper}.h"
constexpr size_t N_IN = {n_in}, N_OUT = {n_out}, IN_BW = {in_bw}, OUT_BW = {out_bw};
int main(int argc, char **argv) {{
    if (argc != 6) {{ std::fprintf(stderr, "usage: tb IN.bin OUT.bin N EXTRA II\\n"); return 2; }}
    size_t n = std::strtoul(argv[3], nullptr, 10), extra = std::strtoul(argv[4], nullptr, 10);
    size_t ii = std::strtoul(argv[5], nullptr, 10);
    std::vector<int32_t> inp(n * N_IN), idle(N_IN, 0);
    FILE *fi = std::fopen(argv[1], "rb");
    if (!fi || std::fread(inp.data(), sizeof(int32_t), inp.size(), fi) != inp.size()) return 3;
    std::fclose(fi);
    auto ctx = std::make_unique<VerilatedContext>();
    auto dut = std::make_unique<V{wrapper}>(ctx.get());
    size_t cycles = n * ii + extra;
    std::vector<int32_t> out(cycles * N_OUT);
    for (size_t t = 0; t < cycles; ++t) {{
        bool fire = (t % ii == 0) && (t / ii < n);
        write_input<N_IN, IN_BW>(dut->model_inp, fire ? &inp[(t / ii) * N_IN] : idle.data());
        dut->clk = 0; dut->eval();
        dut->clk = 1; dut->eval();
        read_output<N_OUT, OUT_BW>(dut->model_out, &out[t * N_OUT]);
    }}
    dut->final();
    FILE *fo = std::fopen(argv[2], "wb");
    if (!fo || std::fwrite(out.data(), sizeof(int32_t), out.size(), fo) != out.size()) return 4;
    std::fclose(fo);
    return 0;
}}
"""


def build_simulator(design: RtlDesign, jobs: int = 2, timeout_s: float = 900.0) -> Path:
    """Verilate the design with our testbench; return the simulator executable."""
    verilator = require_tool("verilator", "RTL simulation")
    root = Path(design.path)
    tb_dir = root / "tb"
    tb_dir.mkdir(exist_ok=True)
    (tb_dir / "ioutil.hh").write_text((root / "sim" / "ioutil.hh").read_text())
    wrapper = f"{design.top}_wrapper"
    (tb_dir / "tb.cpp").write_text(
        _TB.format(
            wrapper=wrapper,
            n_in=design.n_in,
            n_out=design.n_out,
            in_bw=design.in_bw,
            out_bw=design.out_bw,
        )
    )
    primitives = []
    if design.replicated_ffs:  # Vivado has FDRE in its unisim library, Verilator needs a model
        (tb_dir / FDRE_SIM_NAME).write_text(FDRE_SIM)
        primitives.append(FDRE_SIM_NAME)
    run_tool(
        [
            verilator.path,
            "--cc",
            "--exe",
            "--build",
            "-j",
            str(jobs),
            "--top-module",
            wrapper,
            "-Wno-fatal",
            "tb.cpp",
            f"../src/{wrapper}.v",
            *primitives,
            "-I../src",
            "-I../src/static",
            "-CFLAGS",
            "-std=c++17 -O1",
            "-o",
            "Vtb",
        ],
        cwd=tb_dir,
        tool=verilator,
        log_file=tb_dir / "verilator.log",
        timeout_s=timeout_s,
    )
    exe = tb_dir / "obj_dir" / "Vtb"
    if not exe.is_file():
        raise TrigkitError(
            f"verilator finished but {exe} is missing; see {tb_dir / 'verilator.log'}"
        )
    return exe


def _run_tb(exe: Path, design: RtlDesign, slots: np.ndarray, extra: int, ii: int) -> np.ndarray:
    work = exe.parent.parent
    n = slots.shape[0]
    slots.astype(np.int32).tofile(work / "in.bin")
    # $readmemh of the lookup tables resolves relative to the working directory
    run_tool(
        [exe, work / "in.bin", work / "out.bin", str(n), str(extra), str(ii)],
        cwd=Path(design.path) / "src" / "memfiles",
        log_file=work / "sim.log",
        timeout_s=600,
    )
    raw = np.fromfile(work / "out.bin", dtype=np.int32).astype(np.int64)
    k, i, f = design.out_kif
    bw = k + i + f
    raw &= (1 << bw) - 1
    if k:
        raw = np.where(raw >= 1 << (bw - 1), raw - (1 << bw), raw)
    return raw.reshape(-1, design.n_out)


def _shift(codes: np.ndarray, d: int) -> np.ndarray:
    return codes << d if d >= 0 else codes >> -d


def simulate(
    design: RtlDesign,
    exe: Path,
    input_codes: np.ndarray,
    expected_codes: np.ndarray,
    clock_period_ns: float,
    max_ii: int = 4,
) -> RtlSimResult:
    """Drive ``input_codes`` (``input_t`` codes) through the RTL cycle by cycle and measure.

    ``expected_codes`` are the emulator's codes at the RTL output. Latency is the number of
    clock edges from applying an input to reading its output; II the smallest input spacing
    (trying 1, 2, ... ``max_ii``) at which every sample comes out bit-exact.
    """
    x = np.asarray(input_codes, dtype=np.int64)
    slots = _shift(x, design.in_kif[2] - design.input_frac)
    extra = 4 * design.stages + 8
    best: tuple[int, int] | None = None
    for ii in range(1, max_ii + 1):
        rec = _shift(_run_tb(exe, design, slots, extra, ii), design.output_frac - design.out_kif[2])
        n = len(x)
        for lat in range(1, extra + 1):
            idx = np.arange(n) * ii + lat - 1
            if idx[-1] >= len(rec):
                break
            bad = int(np.count_nonzero(np.any(rec[idx] != expected_codes, axis=1)))
            if best is None or bad < best[1]:
                best = (lat, bad)
            if bad == 0:
                return RtlSimResult(lat, ii, n, 0, clock_period_ns)
    lat, bad = best if best else (0, len(x))
    raise TrigkitError(
        f"RTL simulation of '{design.top}' does not reproduce the emulator: best alignment "
        f"(latency {lat}) still has {bad}/{len(x)} mismatching samples"
    )
