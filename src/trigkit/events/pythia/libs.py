"""The two heavy libraries of the Pythia engine, imported on first use (extra ``physics``)."""

from __future__ import annotations

from importlib import metadata
from types import ModuleType

from trigkit.core.lazy import require

EXTRA = "physics"
# the versions of trigkit's `physics` extra (pyproject.toml; a test keeps the two equal)
PINNED = {"pythia8mc": "8.317.2", "fastjet": "3.5.2.0"}


def pythia8() -> ModuleType:
    """The ``pythia8mc`` module, or MissingDependency naming ``trigkit[physics]``."""
    return require("pythia8mc", EXTRA)


def fastjet() -> ModuleType:
    """The ``fastjet`` module, or MissingDependency naming ``trigkit[physics]``."""
    return require("fastjet", EXTRA)


def unpinned_versions(names: tuple[str, ...] = tuple(PINNED)) -> dict[str, str]:
    """The installed versions of the libraries ``names`` that differ from trigkit's pins.

    Another Pythia or fastjet makes other events from one config, so these versions enter the
    samples' cache keys; the pinned ones do not, so keys made before the versions counted stay
    valid. A library that is not installed counts as pinned: it makes no sample."""
    found = {}
    for name in names:
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
        if version != PINNED[name]:
            found[name] = version
    return found
