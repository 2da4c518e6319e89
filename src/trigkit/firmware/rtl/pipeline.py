"""Pipeline cuts by estimated carry-chain delay instead of da4ml's adder count.

How da4ml 0.6 cuts (``da4ml.trace.pipeline.to_pipeline``): every traced op carries a
``latency`` (the time its value is ready) computed at trace time by
``FixedVariable.get_cost_and_latency``: an adder/subtractor adds ``cost_add(...)[0]`` - 1 unit
when ``HWConfig.carry_size`` is -1 (trigkit's setting and da4ml's default), ``ceil(width /
carry_size)`` otherwise - while a constant add (``cadd``: the bias, the RND half-LSB), ReLU and
requantisation (``wrap``) add **0**. ``to_pipeline`` puts op *i* in stage ``floor(latency /
cutoff)`` and then ``retime_pipeline`` bisects the cutoff, re-tracing the whole graph with
da4ml's own model, to the smallest one that keeps the stage count. So the cuts balance adder
*counts*: a bias add, a rounding add and a ReLU mux between two adder trees are free, and the
worst stage holds several carry chains in a row.

da4ml offers one knob on that model, ``carry_size``; it changes the adder cost but still counts
constant adds and ReLU as zero, and it also changes what the CMVM solver builds. trigkit instead
re-annotates the ``latency`` of every op of the traced ``CombLogic`` with an estimate in ns
(:func:`op_delays`, from the op's output width and the cell delays of a timing preset of
:mod:`.rtl_timing`), snapping an op that would straddle a stage boundary to start at the
boundary (da4ml's rule), calls ``to_pipeline(..., retiming=False)`` and retimes by bisecting the
cutoff itself (:func:`delay_pipeline`). The arithmetic is untouched: only which stage computes
each op changes, so the design stays bit-exact (the RTL flow checks it against the emulator).

Per-op delay, ns (``w``: output width in bits, ``n = ceil(w / 4)`` CARRY4s as yosys maps them):

* add/sub, constant add, negation: ``net + lut + lut_to_carry + carry(n)`` with
  ``carry(1) = S->O`` and ``carry(n) = S->CO + (n - 2) (CI->CO + cascade) + cascade + CI->O``;
* ReLU (an AND with the inverted sign): ``net + (w - 1) fanout + LUT2`` - the sign bit drives
  all ``w`` output LUTs; of a negated value: plus a negation;
* MSB mux (saturation's max/min): ``net + (w - 1) fanout + LUT6``, likewise; bit ops:
  ``net + LUT6``;
* every op starts ``(k - 1) fanout`` after its input is ready when ``k`` ops read that input
  (``fanout`` is the model's ``fanout_ns``, FloPoCo's 1/65 ns per load for UltraScale+, 0 for
  the 7-series preset);
* requantisation (a bit slice), constants, inputs: 0; lookup tables: one LUT level per 6 inputs;
  multiplications: ``w`` adders (none in trigkit's networks).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import ceil, floor
from typing import Any

from trigkit.core.errors import TrigkitError
from trigkit.core.lazy import require
from trigkit.firmware.rtl.timing import (
    US_CARRY_CI_CO,
    US_CARRY_CI_O,
    US_CARRY_S_CO,
    US_CARRY_S_O,
    US_LUT2,
    US_LUT6,
    TimingModel,
)

DELAY_MODELS = ("da4ml", "carry")


@dataclass(frozen=True)
class OpDelays:
    """Cell numbers of the per-op delay estimate, ns (see the module docstring)."""

    net: float
    lut_carry: float  # a LUT2: the a xor b feeding a carry S input, or ReLU's AND with the sign
    lut: float  # a general LUT level (LUT6)
    s_co: float
    s_o: float
    ci_co: float
    ci_o: float
    cascade: float
    lut_to_carry: float
    fanout: float = 0.0  # per extra load of a net (TimingModel.fanout_ns)

    def adder(self, width: int) -> float:
        n = max(ceil(width / 4), 1)
        carry = (
            self.s_o
            if n == 1
            else self.s_co + (n - 2) * (self.ci_co + self.cascade) + self.cascade + self.ci_o
        )
        return self.net + self.lut_carry + self.lut_to_carry + carry

    def lut_level(self) -> float:
        return self.net + self.lut

    def relu(self, width: int) -> float:
        return self.net + self.fanout * max(width - 1, 0) + self.lut_carry

    def mux(self, width: int) -> float:
        return self.net + self.fanout * max(width - 1, 0) + self.lut


# yosys techlibs/xilinx/cells_sim.v (Artix-7): LUT2 I0->O, LUT6 I0->O, CARRY4 S0->CO3, S0->O3,
# CI->CO3, CI->O3 (the slow pins yosys's adders use; read through load_cell_library)
_ARTIX7 = dict(lut_carry=0.238, lut=0.642, s_co=0.508, s_o=0.582, ci_co=0.114, ci_o=0.313)
_US_PLUS = dict(
    lut_carry=US_LUT2,
    lut=US_LUT6,
    s_co=US_CARRY_S_CO,
    s_o=US_CARRY_S_O,
    ci_co=US_CARRY_CI_CO,
    ci_o=US_CARRY_CI_O,
)


def op_delays_for(model: TimingModel) -> OpDelays:
    """The per-op numbers of a :class:`TimingModel` (its cell set, routing and scale)."""
    cells = _ARTIX7 if model.cells == "artix7" else _US_PLUS
    k = model.cell_scale
    return OpDelays(
        net=model.net_ns,
        cascade=model.cascade_ns,
        lut_to_carry=model.lut_to_carry_ns,
        fanout=model.fanout_ns,
        **{n: v * k for n, v in cells.items()},
    )


def _width(qint: Any) -> int:
    types = require("da4ml.types", "fpga")
    return int(sum(types.minimal_kif(qint)))


def op_delays(comb: Any, d: OpDelays) -> list[float]:
    """The estimated delay (ns) of each op of a da4ml ``CombLogic``."""
    out: list[float] = []
    for op in comb.ops:
        code, w = op.opcode, _width(op.qint)
        if code in (-1, 3, 5) or w == 0:
            t = 0.0
        elif code in (0, 1, 4, -3):
            t = d.adder(w)
        elif code == 2:
            t = d.relu(w)
        elif code == -2:
            t = d.adder(_width(comb.ops[op.id0].qint)) + d.relu(w)
        elif code in (6, -6):
            t = d.mux(w)
        elif code in (9, -9, 10):
            t = d.lut_level()
        elif code == 8:
            b_in = _width(comb.ops[op.id0].qint)
            t = d.lut_level() * max(ceil(b_in / 6), 1)
        elif code == 7:
            t = d.adder(w) * w
        else:
            raise TrigkitError(f"da4ml op code {code} has no delay estimate")
        out.append(t)
    return out


def _inputs(op: Any) -> list[int]:
    if op.opcode in (-1, 5):  # an input (id0 indexes the inputs) or a constant
        return []
    ids = [op.id0] if op.id0 >= 0 else []
    if op.id1 >= 0:
        ids.append(op.id1)
    if op.opcode in (6, -6):
        ids.append(op.data & 0xFFFFFFFF)
    return ids


def fanouts(comb: Any) -> list[int]:
    """How many ops (and outputs) read each op's value."""
    n = [0] * len(comb.ops)
    for op in comb.ops:
        for i in _inputs(op):
            n[i] += 1
    for i in comb.out_idxs:
        if i >= 0:
            n[i] += 1
    return n


def annotate(comb: Any, delays: list[float], cutoff: float, fanout_ns: float = 0.0) -> Any:
    """``comb`` with every op's ``latency`` = its estimated ready time under ``cutoff`` ns per
    stage: start when the last input is ready (plus ``fanout_ns`` per extra reader of that
    input); an op that would cross a stage boundary starts at the boundary (an op longer than the
    cutoff gets its own stage)."""
    ready: list[float] = []
    ops = []
    extra = [fanout_ns * max(k - 1, 0) for k in fanouts(comb)] if fanout_ns else None
    for op, dt in zip(comb.ops, delays, strict=True):
        start = max((ready[i] + (extra[i] if extra else 0.0) for i in _inputs(op)), default=0.0)
        end = start + dt
        if dt > 0 and floor(end / cutoff - 1e-9) > floor(start / cutoff + 1e-9):
            start = ceil(start / cutoff - 1e-9) * cutoff
            end = start + dt
        ready.append(end)
        ops.append(op._replace(latency=end))
    return comb._replace(ops=ops)


def split_pipeline(comb: Any, delays: list[float], cutoff: float, fanout_ns: float = 0.0) -> Any:
    """da4ml's ``to_pipeline`` (no retiming) of ``comb`` annotated with ``delays`` under
    ``cutoff``."""
    pipeline = require("da4ml.trace.pipeline", "fpga")
    return pipeline.to_pipeline(
        annotate(comb, delays, cutoff, fanout_ns), cutoff, retiming=False, verbose=False
    )


def delay_pipeline(
    comb: Any,
    cutoff: float,
    model: TimingModel,
    tol: float = 0.005,
    delays: Sequence[float] | None = None,
) -> Any:
    """A da4ml ``Pipeline`` of ``comb`` cut every ``cutoff`` ns of estimated logic delay, then
    retimed: the smallest cutoff (to ``tol`` ns) giving no more stages than the first split.
    ``delays``: per-op delays to cut by (default: :func:`op_delays` of ``model``)."""
    if not cutoff > 0:
        raise TrigkitError(f"delay cutoff {cutoff} ns must be > 0")
    delays = list(delays) if delays is not None else op_delays(comb, op_delays_for(model))
    n = len(split_pipeline(comb, delays, cutoff, model.fanout_ns).solutions)
    best = cutoff_for_stages(
        comb,
        delays,
        n,
        model.fanout_ns,
        tol,
        lo=max(max(delays, default=0.0), cutoff * 0.05),
        hi=cutoff,
    )
    return split_pipeline(comb, delays, best, model.fanout_ns)


# -- balancing by the synthesised netlist -----------------------------------------------------


def stage_of_ops(
    comb: Any, delays: Sequence[float], cutoff: float, fanout_ns: float = 0.0
) -> list[int]:
    """The stage da4ml's ``to_pipeline`` puts each op in (-1 for ops without delay)."""
    a = annotate(comb, list(delays), cutoff, fanout_ns)
    return [
        floor(op.latency / (cutoff + 1e-9)) if dt > 0 else -1
        for op, dt in zip(a.ops, delays, strict=True)
    ]


def cutoff_for_stages(
    comb: Any,
    delays: Sequence[float],
    stages: int,
    fanout_ns: float = 0.0,
    tol: float = 0.005,
    lo: float | None = None,
    hi: float | None = None,
) -> float:
    """The smallest cutoff (to ``tol`` ns, bisected in ``[lo, hi]``: by default from the longest
    op to the sum of all) whose split has no more than ``stages`` stages."""
    delays = list(delays)
    lo = max(delays, default=0.0) if lo is None else lo
    hi = max(sum(delays), 1e-3) if hi is None else hi
    while hi - lo > tol:
        mid = (lo + hi) / 2
        if len(split_pipeline(comb, delays, mid, fanout_ns).solutions) <= stages:
            hi = mid
        else:
            lo = mid
    return hi


def rebalanced_delays(
    comb: Any,
    delays: Sequence[float],
    cutoff: float,
    stage_ns: Sequence[float | None],
    fanout_ns: float = 0.0,
    damping: float = 0.5,
) -> list[float]:
    """Op delays rescaled so that the next cut follows the synthesised netlist: every op of stage
    ``k`` is scaled by ``(stage_ns[k] / cutoff) ** damping``, ``stage_ns[k]`` being the estimated
    critical path ending at that stage's output registers (None: unknown, left alone). The
    damping (0.5, a square root) keeps the stages from swapping roles from one step to the next."""
    if not 0 < damping <= 1:
        raise TrigkitError(f"rebalancing damping {damping} must be in (0, 1]")
    stage = stage_of_ops(comb, delays, cutoff, fanout_ns)
    scale = [((t / cutoff) ** damping if t else 1.0) for t in stage_ns]
    last = len(scale) - 1
    return [dt * scale[min(k, last)] if k >= 0 else dt for dt, k in zip(delays, stage, strict=True)]
