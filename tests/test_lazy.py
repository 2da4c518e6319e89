"""trigkit.core.lazy.require / probe and the MissingDependency message."""

from __future__ import annotations

import sys

import pytest

from trigkit.core import lazy
from trigkit.core.errors import MissingDependency, TrigkitError


def test_require_names_the_extra() -> None:
    with pytest.raises(MissingDependency) as info:
        lazy.require("trigkit_no_such_module_xyz", "fpga")
    err = info.value
    assert isinstance(err, TrigkitError)
    assert err.module == "trigkit_no_such_module_xyz" and err.extra == "fpga"
    msg = str(err)
    assert "'trigkit_no_such_module_xyz'" in msg
    assert "pip install 'trigkit[fpga]'" in msg
    assert "\n" not in msg


def test_require_blocked_module(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "json_blocked_for_test", None)
    with pytest.raises(MissingDependency, match=r"trigkit\[gpu\]"):
        lazy.require("json_blocked_for_test", "gpu")


def test_require_returns_module() -> None:
    import json

    assert lazy.require("json", "dev") is json


def test_probe() -> None:
    assert lazy.probe("json") == (True, "importable")
    ok, why = lazy.probe("trigkit_no_such_module_xyz")
    assert not ok and why.startswith("ModuleNotFoundError")
