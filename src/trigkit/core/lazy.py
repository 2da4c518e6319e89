"""Import heavy optional modules on first use, with an error that names the extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType

from trigkit.core.errors import MissingDependency


def require(module: str, extra: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependency` naming ``trigkit[extra]``."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:  # includes ModuleNotFoundError and broken installs
        raise MissingDependency(module, extra, detail=str(exc)) from exc


def probe(module: str) -> tuple[bool, str]:
    """Return (importable, reason) without raising."""
    try:
        importlib.import_module(module)
    except Exception as exc:  # noqa: BLE001 - any failure means unavailable
        return False, f"{type(exc).__name__}: {exc}".splitlines()[0]
    return True, "importable"
