"""Pipeline depth chosen by the timing estimate: the fewest stages whose critical path meets the
clock.

da4ml puts a register stage every ``latency_cutoff`` units of its own delay model (roughly one
adder each) and then re-balances the stages, so cutoffs that give the same number of stages give
the same pipeline; one candidate per stage count is tried - the largest cutoff that gives it.
With the delay model 'carry' (:mod:`.pipeline`) the cutoffs are ns of estimated logic per
stage and the stages are balanced by carry-chain delay instead of adder count.
Each try is a yosys ``synth_xilinx`` plus :func:`~trigkit.firmware.rtl.timing.estimate_timing`
(an estimate, not a sign-off: see that module). The candidates are bisected by stage count,
assuming a deeper pipeline never has a longer critical path; every try is recorded, so the
report shows what was measured, not just the pick. When no candidate meets the clock, the one
with the shortest estimated critical path is kept (and the report says it misses the clock).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from trigkit.core.errors import TrigkitError
from trigkit.core.lazy import require
from trigkit.firmware.rtl import generate as rtl
from trigkit.firmware.rtl.design import RtlDesign
from trigkit.firmware.rtl.options import RtlOptions
from trigkit.firmware.rtl.pipeline import (
    cutoff_for_stages,
    op_delays,
    op_delays_for,
    rebalanced_delays,
    split_pipeline,
)
from trigkit.firmware.rtl.synth import SynthResult
from trigkit.firmware.rtl.timing import (
    NETLIST_NAME,
    TimingModel,
    TimingResult,
    estimate_timing,
    timing_model_for,
)
from trigkit.fixedpoint.network import FirmwareNetwork

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CutoffTrial:
    """One pipeline depth tried: its timing estimate and yosys resources."""

    latency_cutoff: float
    stages: int
    critical_path_ns: float | None  # None: no estimate (see ``error``)
    logic_levels: int | None
    meets: bool
    lut: int | None = None
    ff: int | None = None
    error: str = ""
    rebalance_step: int = 0  # >0: the same stage count re-cut by the netlist's stage paths

    @property
    def fmax_mhz(self) -> float | None:
        return 1000.0 / self.critical_path_ns if self.critical_path_ns else None


@dataclass(frozen=True)
class CutoffSearch:
    """The chosen design (with its synthesis and timing) and every trial, by stage count."""

    design: RtlDesign
    synth: SynthResult
    timing: TimingResult
    trials: tuple[CutoffTrial, ...]


def candidates_by_stages(
    network: FirmwareNetwork,
    cutoffs: Sequence[float],
    delay_model: str = "da4ml",
    model: TimingModel | None = None,
) -> list[tuple[int, float]]:
    """``(stages, largest cutoff giving them)`` for the distinct stage counts, fewest stages
    first."""
    pipeline = require("da4ml.trace.pipeline", "fpga")
    comb = rtl.trace_network(network)
    if delay_model == "carry":
        model = model or timing_model_for(network.part)
        delays = op_delays(comb, op_delays_for(model))
    fanout_ns = model.fanout_ns if model is not None else 0.0
    best: dict[int, float] = {}
    for c in sorted(set(cutoffs)):
        try:
            if delay_model == "carry":
                n = len(split_pipeline(comb, delays, c, fanout_ns).solutions)
            else:
                n = len(pipeline.to_pipeline(comb, c, verbose=False).solutions)
        except AssertionError as exc:  # da4ml: an atomic operation longer than the cutoff
            log.info("latency cutoff %g refused by da4ml: %s", c, exc)
            continue
        best[n] = max(best.get(n, c), c)
    if not best:
        raise TrigkitError(
            f"no latency cutoff in {list(cutoffs)} gives a da4ml pipeline for '{network.name}'"
        )
    return sorted(best.items())


def bisect_fewest_stages(
    candidates: Sequence[tuple[int, float]], evaluate: Callable[[int, float], CutoffTrial]
) -> tuple[CutoffTrial, tuple[CutoffTrial, ...]]:
    """The first candidate (fewest stages) whose trial meets the clock, by bisection.

    ``candidates`` are ``(stages, cutoff)`` sorted by stages; returns the pick and the trials
    made (by stages). None meeting: the trial with the shortest critical path.
    """
    tried: dict[int, CutoffTrial] = {}
    lo, hi, first = 0, len(candidates) - 1, None
    while lo <= hi:
        mid = (lo + hi) // 2
        tried[mid] = evaluate(*candidates[mid])
        if tried[mid].meets:
            first, hi = mid, mid - 1
        else:
            lo = mid + 1
    trials = tuple(tried[i] for i in sorted(tried))
    if first is not None:
        return tried[first], trials
    timed = [t for t in trials if t.critical_path_ns is not None]
    if not timed:
        raise TrigkitError(
            "no timing estimate for any latency cutoff tried: "
            + "; ".join(f"cutoff {t.latency_cutoff:g}: {t.error}" for t in trials)
        )
    return min(timed, key=lambda t: (t.critical_path_ns, -t.stages)), trials


Built = tuple[RtlDesign, SynthResult, TimingResult]


def timed_trial(cutoff: float, built: Built, clock_period_ns: float) -> CutoffTrial:
    """The :class:`CutoffTrial` row of a synthesised and timed design."""
    design, syn, timing = built
    return CutoffTrial(
        cutoff,
        design.stages,
        timing.critical_path_ns,
        timing.logic_levels,
        timing.meets(clock_period_ns),
        syn.lut,
        syn.ff,
        rebalance_step=design.rebalance_step,
    )


def stage_paths(timing: TimingResult, stages: int) -> list[float | None]:
    """The estimated critical path ending at each stage's output registers (None: none timed),
    the replicated copies (``model_dup``, :mod:`.rtl_replicate`) included."""
    paths = timing.per_register
    ends = [(f"stage{k + 1}.model_inp", f"stage{k + 1}.model_dup") for k in range(stages - 1)] + [
        ("model_out",)
    ]
    return [max((paths[k] for k in keys if k in paths), default=None) for keys in ends]


def rebalance(
    network: FirmwareNetwork,
    work_dir: str | Path,
    start: Built,
    steps: int,
    model: TimingModel,
    min_slack_ns: float = 0.0,
) -> tuple[Built, tuple[CutoffTrial, ...]]:
    """Re-cut ``start`` (a 'carry'-cut design, synthesised and timed) at the same stage count up
    to ``steps`` times, each time with the op delays of every stage scaled by how long that stage
    came out in the netlist (:func:`~trigkit.firmware.rtl.pipeline.rebalanced_delays`), and keep
    the design with the shortest estimated critical path. Stops early once the clock is met with
    ``min_slack_ns`` ns to spare (0: just met). Registers move; the arithmetic does not."""
    design, _, timing = start
    if design.delay_model != "carry":
        raise TrigkitError("rebalancing re-cuts by per-op delays: it needs the 'carry' delay model")
    clock, fanout = network.clock_period_ns, model.fanout_ns
    comb = rtl.trace_network(network, delay_constraint=design.delay_constraint)
    delays = op_delays(comb, op_delays_for(model))
    cut = cutoff_for_stages(comb, delays, design.stages, fanout)
    best, trials, current = start, [], timing
    for step in range(1, steps + 1):
        if current.slack_ns(clock) >= min_slack_ns:
            break
        delays = rebalanced_delays(comb, delays, cut, stage_paths(current, design.stages), fanout)
        cut = cutoff_for_stages(comb, delays, design.stages, fanout)
        built = rtl.generate_verilog(
            network,
            Path(work_dir) / f"rebalance-{design.stages}-{step}",
            latency_cutoff=cut,
            delay_model="carry",
            timing_model=model,
            delay_constraint=design.delay_constraint,
            op_delays=delays,
            rebalance_step=step,
            max_fanout=design.max_fanout,
        )
        syn = rtl.synthesize(built)
        try:
            current = estimate_timing(Path(built.path) / NETLIST_NAME, model)
        except TrigkitError as exc:
            trials.append(
                CutoffTrial(cut, built.stages, None, None, False, syn.lut, syn.ff, str(exc), step)
            )
            break
        log.info(
            "rebalanced %d stages, step %d: critical path %.3f ns",
            built.stages,
            step,
            current.critical_path_ns,
        )
        trials.append(timed_trial(cut, (built, syn, current), clock))
        if current.critical_path_ns < best[2].critical_path_ns:
            best = (built, syn, current)
    return best, tuple(trials)


def search_cutoff(
    network: FirmwareNetwork,
    work_dir: str | Path,
    options: RtlOptions,
    model: TimingModel | None = None,
) -> CutoffSearch:
    """Generate + synthesise + time a pipeline for each of ``options.cutoffs`` in
    ``work_dir/cutoff-<c>``; keep the fewest stages that meet ``network.clock_period_ns`` (see
    the module docstring). ``options.rebalance``: a candidate that misses the clock, or meets it
    with less than ``options.min_slack_ns`` ns to spare, is first :func:`rebalance`-d;
    ``options.max_fanout``: register replication of every candidate (:mod:`.replicate`)."""
    model = model or timing_model_for(network.part)
    clock = network.clock_period_ns
    work = Path(work_dir)
    done: dict[tuple[int, int], Built] = {}
    extra: list[CutoffTrial] = []

    def evaluate(stages: int, cutoff: float) -> CutoffTrial:
        design = rtl.generate_verilog(
            network,
            work / f"cutoff-{cutoff:g}",
            latency_cutoff=cutoff,
            delay_model=options.delay_model,
            timing_model=model,
            max_fanout=options.max_fanout,
        )
        syn = rtl.synthesize(design)
        try:
            timing = estimate_timing(Path(design.path) / NETLIST_NAME, model)
        except TrigkitError as exc:
            return CutoffTrial(cutoff, design.stages, None, None, False, syn.lut, syn.ff, str(exc))
        done[(design.stages, 0)] = (design, syn, timing)
        log.info(
            "latency cutoff %g: %d stages, critical path %.3f ns (%s the %g ns clock)",
            cutoff,
            design.stages,
            timing.critical_path_ns,
            "meets" if timing.meets(clock) else "misses",
            clock,
        )
        trial = timed_trial(cutoff, (design, syn, timing), clock)
        if not options.rebalance or timing.slack_ns(clock) >= options.min_slack_ns:
            return trial
        best, steps = rebalance(
            network, work, (design, syn, timing), options.rebalance, model, options.min_slack_ns
        )
        extra.extend(steps)
        if not best[0].rebalance_step:  # no step beat the carry cut
            return trial
        done[(best[0].stages, best[0].rebalance_step)] = best
        extra.append(trial)
        return next(t for t in steps if t.rebalance_step == best[0].rebalance_step)

    chosen, trials = bisect_fewest_stages(
        candidates_by_stages(network, options.cutoffs, options.delay_model, model), evaluate
    )
    trials = tuple(sorted(set(trials) | set(extra), key=lambda t: (t.stages, t.rebalance_step)))
    if not chosen.meets:
        log.warning(
            "no latency cutoff tried meets the %g ns clock by the timing estimate; keeping %g "
            "(%d stages, %.3f ns)",
            clock,
            chosen.latency_cutoff,
            chosen.stages,
            chosen.critical_path_ns,
        )
    design, syn, timing = done[(chosen.stages, chosen.rebalance_step)]
    return CutoffSearch(design, syn, timing, trials)
