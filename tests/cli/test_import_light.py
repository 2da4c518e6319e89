"""`import trigkit, trigkit.cli.app` stays light; every trigkit submodule imports cleanly."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import pytest

import trigkit
from trigkit.core.errors import MissingDependency

HEAVY = ("torch", "onnxruntime", "hls4ml", "tensorflow", "onnx", "dask", "pythia8mc", "fastjet")
# optional libraries a submodule may legitimately need at import time (its extra is missing)
OPTIONAL_ROOTS = {
    "onnx",
    "onnxruntime",
    "onnxscript",
    "hls4ml",
    "da4ml",
    "tensorflow",
    "tf_keras",
    "qkeras",
    "tensorrt",
    "dask",
    "distributed",
    "pycuda",
    "cuda",
    "tritonclient",
    "pythia8mc",
    "fastjet",
}


def test_import_trigkit_and_cli_is_light() -> None:
    code = (
        "import sys, trigkit, trigkit.cli.app; "
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "", (
        f"heavy modules imported by trigkit / trigkit.cli.app: {done.stdout}"
    )


def test_help_exits_zero() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "trigkit.cli.app", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Usage" in done.stdout and "Traceback" not in done.stderr


def _all_modules() -> list[str]:
    return sorted(
        m.name
        for m in pkgutil.walk_packages(trigkit.__path__, prefix="trigkit.")
        if m.name.rsplit(".", 1)[-1] != "__main__"
    )


def test_walk_finds_the_packages() -> None:
    names = set(_all_modules())
    for expected in (
        "trigkit.cli.app",
        "trigkit.events.batch",
        "trigkit.bundle.manifest",
        "trigkit.benchmarks.all",
        "trigkit.emulator.schema",
    ):
        assert expected in names


@pytest.mark.parametrize("name", _all_modules())
def test_submodule_imports(name: str) -> None:
    try:
        importlib.import_module(name)
    except MissingDependency as exc:
        assert exc.module.split(".")[0] in OPTIONAL_ROOTS, str(exc)
        pytest.skip(str(exc))
    except ImportError as exc:
        missing = (exc.name or "").split(".")[0]
        if missing not in OPTIONAL_ROOTS:
            raise
        pytest.skip(f"optional dependency {exc.name} missing: {exc}")
