"""Registry: lookup, unknown names, duplicates, status."""

from __future__ import annotations

import pytest

from trigkit.core.errors import TrigkitError
from trigkit.core.registry import Registry


def _reg() -> Registry[str]:
    reg: Registry[str] = Registry("backend")
    reg.register("alpha", lambda x="a": f"alpha-{x}", lambda: (True, "importable"), "first")
    reg.register("beta", lambda: "beta", lambda: (False, "ImportError: nope"), "second")
    return reg


def test_create_and_order() -> None:
    reg = _reg()
    assert reg.names() == ["alpha", "beta"]
    assert reg.create("alpha", x="z") == "alpha-z"
    assert reg.entry("beta").summary == "second"


def test_unknown_name_lists_valid_ones() -> None:
    with pytest.raises(TrigkitError, match=r"unknown backend 'gamma'; valid: alpha, beta"):
        _reg().create("gamma")


def test_empty_registry_message() -> None:
    with pytest.raises(TrigkitError, match=r"\(none registered\)"):
        Registry("target").entry("fpga")


def test_duplicate_registration_refused() -> None:
    reg = _reg()
    with pytest.raises(ValueError, match="'alpha' registered twice"):
        reg.register("alpha", lambda: "again", lambda: (True, ""), "dup")
    assert reg.create("alpha") == "alpha-a"  # the first one is kept


def test_status_runs_probes() -> None:
    assert _reg().status() == [
        ("alpha", True, "importable", "first"),
        ("beta", False, "ImportError: nope", "second"),
    ]
