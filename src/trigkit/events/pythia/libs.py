"""The two heavy libraries of the Pythia engine, imported on first use (extra ``physics``)."""

from __future__ import annotations

from types import ModuleType

from trigkit.core.lazy import require

EXTRA = "physics"


def pythia8() -> ModuleType:
    """The ``pythia8mc`` module, or MissingDependency naming ``trigkit[physics]``."""
    return require("pythia8mc", EXTRA)


def fastjet() -> ModuleType:
    """The ``fastjet`` module, or MissingDependency naming ``trigkit[physics]``."""
    return require("fastjet", EXTRA)
