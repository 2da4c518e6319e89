"""The whole RTL path in one call: Verilog -> Verilator measurement -> yosys resources + timing.

:func:`run_rtl_flow` returns an :class:`~trigkit.firmware.rtl.report.RtlReport`; the simulated
outputs are checked bit for bit against :class:`~trigkit.firmware.emulate.FirmwareEmulator`
(a mismatch raises), so every latency it reports belongs to a design that computes the right
numbers. With
``cutoffs`` the pipeline depth is chosen first by the timing estimate (:mod:`.cutoff`).
"""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path

from trigkit.core.errors import TrigkitError
from trigkit.core.tools import find_tool
from trigkit.firmware.emulate import FirmwareEmulator
from trigkit.firmware.rtl import generate as rtl
from trigkit.firmware.rtl.cutoff import rebalance as rebalance_design
from trigkit.firmware.rtl.cutoff import search_cutoff, timed_trial
from trigkit.firmware.rtl.design import RtlDesign
from trigkit.firmware.rtl.options import RtlOptions
from trigkit.firmware.rtl.report import RTL_REPORT_NAME, RtlReport
from trigkit.firmware.rtl.support import check_rtl_supported
from trigkit.firmware.rtl.timing import (
    NETLIST_NAME,
    TimingModel,
    TimingResult,
    estimate_timing,
    timing_model_for,
)
from trigkit.fixedpoint.network import FirmwareNetwork
from trigkit.fixedpoint.random_net import edge_inputs

log = logging.getLogger(__name__)


def run_rtl_flow(
    network: FirmwareNetwork,
    work_dir: str | Path | None = None,
    options: RtlOptions | None = None,
    *,
    n_samples: int = 1000,
    synth: bool = True,
    seed: int = 0,
) -> RtlReport:
    """Generate, simulate (bit-exact check) and, if yosys is present and ``synth``, synthesise
    and estimate the critical path, as ``options`` say (default :class:`RtlOptions`).

    ``options.cutoffs``: one is that pipeline; several are searched for the fewest stages that
    meet ``network.clock_period_ns`` by the estimate (needs yosys). ``timing_model``: a preset
    or 'auto' (the preset of ``network.part``,
    :func:`~trigkit.firmware.rtl.timing.timing_model_for`); ``delay_model``: how the pipeline is
    cut (:func:`~trigkit.firmware.rtl.generate.generate_verilog`);
    ``rebalance``: up to this many re-cuts of a design that misses the clock, steered by its
    synthesised stage paths (delay model 'carry', needs yosys;
    :func:`~trigkit.firmware.rtl.cutoff.rebalance`); ``max_fanout``: stage input register bits
    read by more ops are replicated (:mod:`~trigkit.firmware.rtl.replicate`; 0: none);
    ``min_slack_ns``: rebalancing goes on until the estimate meets the clock with this many ns
    to spare (or the steps run out)."""
    check_rtl_supported(network)
    opts = options if options is not None else RtlOptions()
    model: TimingModel | None = None
    if opts.searches or opts.delay_model == "carry" or (synth and find_tool("yosys") is not None):
        model = timing_model_for(network.part, opts.timing_model)  # an unknown family: an error
    work = Path(work_dir) if work_dir is not None else Path(tempfile.mkdtemp(prefix="trigkit-rtl-"))
    log.info("RTL flow for '%s' in %s", network.name, work)
    syn = timing = None
    trials: tuple = ()
    if (opts.searches or opts.rebalance) and find_tool("yosys") is None:
        raise TrigkitError(
            "choosing or rebalancing the pipeline by timing needs yosys (synth_xilinx); "
            "install it, or give a single --rtl-cutoff without --rtl-rebalance"
        )
    if opts.searches:
        found = search_cutoff(network, work, opts, model)
        design, syn, timing, trials = found.design, found.synth, found.timing, found.trials
    elif opts.rebalance:
        design, syn, timing, trials = _rebalanced(network, work, opts, model)
    else:
        design = rtl.generate_verilog(
            network,
            work,
            latency_cutoff=opts.cutoffs[0],
            delay_model=opts.delay_model,
            timing_model=model,
            max_fanout=opts.max_fanout,
        )
    exe = rtl.build_simulator(design)
    emu = FirmwareEmulator(network)
    codes = emu.quantize_inputs(edge_inputs(network, n_samples, seed=seed))
    expected = emu.run_codes(codes, upto=len(design.covered))
    sim = rtl.simulate(design, exe, codes, expected, network.clock_period_ns)
    if syn is None and synth and find_tool("yosys") is not None:
        syn = rtl.synthesize(design)
        timing = _timing(design, model)
    elif syn is None and synth:
        log.warning("yosys not found: RTL resources and timing not measured")
    report = RtlReport(design, sim, syn, timing, trials)
    (work / RTL_REPORT_NAME).write_text(json.dumps(report.to_json(), indent=2))
    return report


def _rebalanced(
    network: FirmwareNetwork, work: Path, opts: RtlOptions, model: TimingModel | None
) -> tuple:
    cutoff = opts.cutoffs[0]
    assert model is not None
    design = rtl.generate_verilog(
        network,
        work,
        latency_cutoff=cutoff,
        delay_model="carry",
        timing_model=model,
        max_fanout=opts.max_fanout,
    )
    start = (
        design,
        rtl.synthesize(design),
        estimate_timing(Path(design.path) / NETLIST_NAME, model),
    )
    (design, syn, timing), more = rebalance_design(
        network, work, start, opts.rebalance, model, opts.min_slack_ns
    )
    return design, syn, timing, (timed_trial(cutoff, start, network.clock_period_ns), *more)


def _timing(design: RtlDesign, model: TimingModel | None) -> TimingResult | None:
    try:
        return estimate_timing(Path(design.path) / NETLIST_NAME, model)
    except TrigkitError as exc:  # e.g. a cell type without timing arcs: resources still count
        log.warning("no RTL timing estimate: %s", exc)
        return None
