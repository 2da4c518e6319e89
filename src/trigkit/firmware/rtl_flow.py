"""The whole RTL path in one call: Verilog -> Verilator measurement -> yosys resources.

:func:`run_rtl_flow` returns an :class:`~trigkit.firmware.rtl.RtlReport`; the simulated outputs
are checked bit for bit against :class:`~trigkit.firmware.emulate.FirmwareEmulator` (a mismatch
raises), so every latency it reports belongs to a design that computes the right numbers.
"""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path

from trigkit.firmware import rtl
from trigkit.firmware.emulate import FirmwareEmulator
from trigkit.firmware.random_net import edge_inputs
from trigkit.firmware.spec import FirmwareNetwork
from trigkit.firmware.tools import find_tool

log = logging.getLogger(__name__)


def run_rtl_flow(
    network: FirmwareNetwork,
    work_dir: str | Path | None = None,
    n_samples: int = 1000,
    latency_cutoff: float = rtl.DEFAULT_LATENCY_CUTOFF,
    synth: bool = True,
    seed: int = 0,
) -> rtl.RtlReport:
    """Generate, simulate (bit-exact check) and, if yosys is present and ``synth``, synthesise."""
    work = Path(work_dir) if work_dir is not None else Path(tempfile.mkdtemp(prefix="trigkit-rtl-"))
    log.info("RTL flow for '%s' in %s", network.name, work)
    design = rtl.generate_verilog(network, work, latency_cutoff=latency_cutoff)
    exe = rtl.build_simulator(design)
    emu = FirmwareEmulator(network)
    codes = emu.quantize_inputs(edge_inputs(network, n_samples, seed=seed))
    expected = emu.run_codes(codes, upto=len(design.covered))
    sim = rtl.simulate(design, exe, codes, expected, network.clock_period_ns)
    syn = None
    if synth and find_tool("yosys") is not None:
        syn = rtl.synthesize(design)
    elif synth:
        log.warning("yosys not found: RTL resources not measured")
    report = rtl.RtlReport(design, sim, syn)
    (work / rtl.RTL_REPORT_NAME).write_text(json.dumps(report.to_json(), indent=2))
    return report
