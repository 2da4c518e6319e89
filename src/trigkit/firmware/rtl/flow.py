"""The whole RTL path in one call: Verilog -> Verilator measurement -> yosys resources + timing.

:func:`run_rtl_flow` returns an :class:`~trigkit.firmware.rtl.generate.RtlReport`; the simulated outputs
are checked bit for bit against :class:`~trigkit.firmware.emulate.FirmwareEmulator` (a mismatch
raises), so every latency it reports belongs to a design that computes the right numbers. With
``cutoffs`` the pipeline depth is chosen first by the timing estimate (:mod:`.rtl_cutoff`).
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path

from trigkit.core.errors import TrigkitError
from trigkit.core.tools import find_tool
from trigkit.firmware.emulate import FirmwareEmulator
from trigkit.firmware.rtl import generate as rtl
from trigkit.firmware.rtl.options import check_rtl_options
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
    n_samples: int = 1000,
    latency_cutoff: float = rtl.DEFAULT_LATENCY_CUTOFF,
    synth: bool = True,
    seed: int = 0,
    cutoffs: Sequence[float] | None = None,
    timing_model: TimingModel | str | None = None,
    delay_model: str = rtl.DEFAULT_DELAY_MODEL,
    rebalance: int = 0,
    max_fanout: int = 0,
    min_slack: float = 0.0,
) -> rtl.RtlReport:
    """Generate, simulate (bit-exact check) and, if yosys is present and ``synth``, synthesise
    and estimate the critical path. ``cutoffs``: choose ``latency_cutoff`` among them - the
    fewest stages that meet ``network.clock_period_ns`` by the estimate (needs yosys).
    ``timing_model``: a :class:`TimingModel`, a preset name or None/'auto' (the preset of
    ``network.part``, :func:`~trigkit.firmware.rtl.timing.timing_model_for`); ``delay_model``:
    how the pipeline is cut (:func:`~trigkit.firmware.rtl.generate.generate_verilog`); ``rebalance``: up
    to this many re-cuts of a design that misses the clock, steered by its synthesised stage
    paths (delay model 'carry', needs yosys; :func:`~trigkit.firmware.rtl.cutoff.rebalance`);
    ``max_fanout``: stage input register bits read by more ops are replicated
    (:mod:`~trigkit.firmware.rtl.replicate`; 0: none); ``min_slack``: rebalancing goes on until the
    estimate meets the clock with this many ns to spare (or the steps run out)."""
    model: TimingModel | None = None
    if isinstance(timing_model, TimingModel):
        model = timing_model
    elif cutoffs or delay_model == "carry" or (synth and find_tool("yosys") is not None):
        model = timing_model_for(
            network.part, timing_model or "auto"
        )  # an unknown family: an error
    work = Path(work_dir) if work_dir is not None else Path(tempfile.mkdtemp(prefix="trigkit-rtl-"))
    log.info("RTL flow for '%s' in %s", network.name, work)
    syn = timing = None
    trials: tuple = ()
    check_rtl_options(delay_model, rebalance, max_fanout, min_slack)
    if (cutoffs or rebalance) and find_tool("yosys") is None:
        raise TrigkitError(
            "choosing or rebalancing the pipeline by timing needs yosys (synth_xilinx); "
            "install it, or give a single --rtl-cutoff without --rtl-rebalance"
        )
    if cutoffs:
        from trigkit.firmware.rtl.cutoff import search_cutoff

        found = search_cutoff(
            network,
            work,
            cutoffs,
            model,
            delay_model=delay_model,
            rebalance_steps=rebalance,
            max_fanout=max_fanout,
            min_slack=min_slack,
        )
        design, syn, timing, trials = found.design, found.synth, found.timing, found.trials
    elif rebalance:
        design, syn, timing, trials = _rebalanced(
            network, work, latency_cutoff, model, rebalance, max_fanout, min_slack
        )
    else:
        design = rtl.generate_verilog(
            network,
            work,
            latency_cutoff=latency_cutoff,
            delay_model=delay_model,
            timing_model=model,
            max_fanout=max_fanout,
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
    report = rtl.RtlReport(design, sim, syn, timing, trials)
    (work / rtl.RTL_REPORT_NAME).write_text(json.dumps(report.to_json(), indent=2))
    return report


def _rebalanced(
    network: FirmwareNetwork,
    work: Path,
    cutoff: float,
    model: TimingModel | None,
    steps: int,
    max_fanout: int,
    min_slack: float,
) -> tuple:
    from trigkit.firmware.rtl.cutoff import rebalance, timed_trial

    assert model is not None
    design = rtl.generate_verilog(
        network,
        work,
        latency_cutoff=cutoff,
        delay_model="carry",
        timing_model=model,
        max_fanout=max_fanout,
    )
    start = (
        design,
        rtl.synthesize(design),
        estimate_timing(Path(design.path) / NETLIST_NAME, model),
    )
    (design, syn, timing), more = rebalance(network, work, start, steps, model, min_slack)
    return design, syn, timing, (timed_trial(cutoff, start, network.clock_period_ns), *more)


def _timing(design: rtl.RtlDesign, model: TimingModel | None) -> TimingResult | None:
    try:
        return estimate_timing(Path(design.path) / NETLIST_NAME, model)
    except TrigkitError as exc:  # e.g. a cell type without timing arcs: resources still count
        log.warning("no RTL timing estimate: %s", exc)
        return None
