"""`trigkit --help` and `trigkit backends` run; importing trigkit stays light."""

from __future__ import annotations

import subprocess
import sys

HEAVY_FOR_PACKAGE = ("torch", "onnxruntime", "hls4ml", "tensorflow", "tensorrt")
HEAVY_FOR_CLI = ("onnxruntime", "hls4ml", "tensorflow", "tensorrt")


def _trigkit(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trigkit.cli.app", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _loaded_after(statement: str, modules: tuple[str, ...]) -> list[str]:
    code = f"import sys; {statement}; print(','.join(m for m in {modules!r} if m in sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    return [m for m in done.stdout.strip().split(",") if m]


def test_help() -> None:
    done = _trigkit("--help")
    assert done.returncode == 0, done.stderr
    assert "Usage" in done.stdout and "events" in done.stdout and "backends" in done.stdout
    events = _trigkit("events", "--help")
    assert events.returncode == 0, events.stderr
    assert "info" in events.stdout and "read" in events.stdout


def test_backends_lists_availability() -> None:
    done = _trigkit("backends")
    assert done.returncode == 0, done.stderr
    assert "trigkit backends" in done.stdout
    assert "available" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_import_trigkit_is_light() -> None:
    assert _loaded_after("import trigkit", HEAVY_FOR_PACKAGE) == []


def test_cli_import_skips_optional_backends() -> None:
    assert _loaded_after("import trigkit.cli.app", HEAVY_FOR_CLI) == []
