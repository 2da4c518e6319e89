"""The menu's cut types, one file each (schema model, plan entry, codegen, reference evaluation).

Every module of this package is imported here, and every :class:`CutType` subclass they define
with a ``key`` is a cut type (refused at import if it lacks a part, the reference included).
:data:`CUT_TYPES` is the registry the schema and both engines iterate, in
:attr:`CutType.order`: the order cuts of one trigger are written and evaluated (cheapest and most
selective first: multiplicity, HT, score cuts, large-R jets). Adding a cut type is one new file
here (and its test).
"""

from __future__ import annotations

import importlib
import pkgutil

from trigkit.emulator.cuts.base import CutType, Level, check_cut_type, registered

for _mod in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_mod.name}")

CUT_TYPES: tuple[CutType, ...] = tuple(
    sorted((check_cut_type(cls) for cls in registered()), key=lambda t: t.order)
)


def cut_types(level: Level) -> tuple[CutType, ...]:
    """The cut types allowed in an L1 seed (``l1``) or an HLT path (``hlt``), in registry order."""
    return tuple(t for t in CUT_TYPES if level in t.levels)


__all__ = ["CUT_TYPES", "CutType", "Level", "cut_types"]
