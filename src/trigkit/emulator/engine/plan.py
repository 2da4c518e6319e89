"""The per-event *registers* of a compiled menu: the distinct quantities its cuts read.

Each cut row names its register through its cut type (:meth:`CutType.register`); rows of one
register kind with equal keys share one register, so cuts differing only in their threshold
(HTT320 / HTT360, the PNet2BTagMean and 2BTagSum paths) read one quantity computed once per
event. ``pt_floor`` is the lowest pt threshold of any jet cut: jets are pt-ordered, so the first
jet below it ends the event's jet loop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from trigkit.emulator.compiled import CompiledMenu
from trigkit.emulator.cuts import CUT_TYPES, CutType
from trigkit.emulator.cuts.base import Strict


@dataclass(frozen=True)
class Register:
    type: CutType  # the first cut type of its kind reading it (types of one kind emit alike)
    key: tuple
    index: int  # within its kind: the suffix of its locals in the generated source
    cuts: tuple[Strict, ...]  # the cuts reading it


@dataclass(frozen=True)
class OnePassPlan:
    registers: tuple[Register, ...]  # by kind (registry order), then first use
    cut_reg: tuple[int, ...]  # per cut row of the menu: the index of the register it reads
    pt_floor: float  # inf: no cut reads jets


def plan_menu(cm: CompiledMenu) -> OnePassPlan:
    """Distinct registers of ``cm`` and, for each cut row, the register it reads."""
    found: dict[tuple[str, tuple], list] = {}  # (kind, key) -> [type, index, cuts]
    per_kind: dict[str, int] = {}
    cut_reg = []
    for row in cm.cuts:
        kind, key = row.type.kind, row.type.register(row.cut)
        if (kind, key) not in found:
            found[kind, key] = [row.type, per_kind.get(kind, 0), []]
            per_kind[kind] = per_kind.get(kind, 0) + 1
        found[kind, key][2].append(row.cut)
        cut_reg.append(found[kind, key][1])
    kinds = list(dict.fromkeys(t.kind for t in CUT_TYPES))
    registers = sorted(
        (Register(t, key, i, tuple(cuts)) for (_, key), (t, i, cuts) in found.items()),
        key=lambda r: (kinds.index(r.type.kind), r.index),
    )
    floors = [f for row in cm.cuts if (f := row.type.pt_floor(row.cut)) is not None]
    return OnePassPlan(tuple(registers), tuple(cut_reg), min(floors) if floors else math.inf)
