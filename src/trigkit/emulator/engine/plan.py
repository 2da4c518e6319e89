"""The per-event *registers* of a compiled menu: the distinct quantities its cuts read.

Each cut row names its register through its cut type (:meth:`CutType.register`); rows of one
register kind with equal keys share one register, so cuts differing only in their threshold
(HTT320 / HTT360, the PNet2BTagMean and 2BTagSum paths) read one quantity computed once per
event. ``pt_floor`` is the lowest pt threshold of any jet cut: jets are pt-ordered, so the first
jet below it ends the event's jet loop.

Planned for events with L1 jets (``l1jets=True``), the cut rows reading them
(:func:`~trigkit.emulator.compiled.on_l1_jets`: the L1 seeds' jet-kinematic cuts, and their
score cuts too when the L1 jets carry the L1 tagger's scores, ``l1_scores=True``) get registers
of collection ``l1jets``, filled by a second loop over the event's L1 jets (floor
``l1_pt_floor``); without, every register is planned exactly as before (L1 seeds read the
offline jets).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from trigkit.emulator.compiled import CompiledMenu, on_l1_jets
from trigkit.emulator.cuts import CUT_TYPES, CutType
from trigkit.emulator.cuts.base import Strict

Collection = Literal["jets", "l1jets", "fatjets"]


@dataclass(frozen=True)
class Register:
    type: CutType  # the first cut type of its kind reading it (types of one kind emit alike)
    key: tuple
    index: int  # within its kind: the suffix of its locals in the generated source
    cuts: tuple[Strict, ...]  # the cuts reading it
    collection: Collection = "jets"  # the objects its loop reads


@dataclass(frozen=True)
class OnePassPlan:
    registers: tuple[Register, ...]  # by kind (registry order), then first use
    cut_reg: tuple[int, ...]  # per cut row of the menu: the index of the register it reads
    pt_floor: float  # inf: no cut reads jets
    cut_l1: tuple[bool, ...] = ()  # per cut row: its register reads the L1 jets
    l1_pt_floor: float = math.inf  # of the L1-jet loop; inf: no cut reads L1 jets


def plan_menu(cm: CompiledMenu, l1jets: bool = False, l1_scores: bool = False) -> OnePassPlan:
    """Distinct registers of ``cm`` and, for each cut row, the register it reads; with ``l1jets``
    (the events have L1 jets; ``l1_scores``: carrying the L1 tagger's scores), the rows reading
    L1 jets get registers of their own."""
    found: dict[tuple[str, Collection, tuple], list] = {}  # (kind, coll, key) -> [type, i, cuts]
    per_kind: dict[str, int] = {}
    cut_reg, cut_l1 = [], []
    for row in cm.cuts:
        on_l1 = on_l1_jets(row, l1jets, l1_scores)
        coll: Collection = "l1jets" if on_l1 else row.type.collection
        kind, key = row.type.kind, row.type.register(row.cut)
        if (kind, coll, key) not in found:
            found[kind, coll, key] = [row.type, per_kind.get(kind, 0), []]
            per_kind[kind] = per_kind.get(kind, 0) + 1
        found[kind, coll, key][2].append(row.cut)
        cut_reg.append(found[kind, coll, key][1])
        cut_l1.append(on_l1)
    kinds = list(dict.fromkeys(t.kind for t in CUT_TYPES))
    registers = sorted(
        (Register(t, key, i, tuple(cuts), c) for (_, c, key), (t, i, cuts) in found.items()),
        key=lambda r: (kinds.index(r.type.kind), r.index),
    )
    floors: dict[bool, list[float]] = {False: [], True: []}
    for row, on_l1 in zip(cm.cuts, cut_l1, strict=True):
        if (f := row.type.pt_floor(row.cut)) is not None:
            floors[on_l1].append(f)
    return OnePassPlan(
        tuple(registers),
        tuple(cut_reg),
        min(floors[False], default=math.inf),
        tuple(cut_l1),
        min(floors[True], default=math.inf),
    )


def trigger_expressions(
    cm: CompiledMenu, plan: OnePassPlan, cut_expr: Callable[[Any, Register, bool], str]
) -> Iterator[tuple[int, str]]:
    """Per trigger of :attr:`CompiledMenu.order`: its index and its decision as one ``&`` of
    its gate (``(t1 | t2 ...)`` of the triggers seeding it) and its cuts in row order, each
    ``(cut_expr(row, register, reads L1 jets))``; "" for a trigger without either. Both
    backends' code generators write their decisions from this, so they compose them alike."""
    on_l1 = plan.cut_l1 or (False,) * len(cm.cuts)
    for t in (int(x) for x in cm.order):
        gate = [f"t{g}" for g in cm.gate(t)]
        first = int(cm.trig_cut_start[t])
        cuts = [
            f"({cut_expr(row, plan.cut_reg[k], on_l1[k])})"
            for k, row in enumerate(cm.trigger_cuts(t), start=first)
        ]
        yield t, " & ".join(([f"({' | '.join(gate)})"] if gate else []) + cuts)
