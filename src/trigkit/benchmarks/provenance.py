"""Where a benchmark number came from: the code's git commit, the load on the machine, and a
guard that keeps a result made by newer code from being overwritten by older code unnoticed.

Every result JSON gets a ``provenance`` record (:func:`provenance`); :func:`write_result` writes
it atomically after comparing the commit of the result it would replace:

* same commit, no commit recorded, or the old result's commit is an ancestor of ours (it is
  stale): written, and the replaced commit is logged;
* our commit is an ancestor of the old result's (we are the older code), or the two are
  unrelated / cannot be compared: refused with one ``error:`` line unless ``allow_older``.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from trigkit.core.atomic import write_text
from trigkit.core.errors import TrigkitError

log = logging.getLogger(__name__)

_REPO = Path(__file__).resolve().parents[3]  # src/trigkit/benchmarks -> repository root


def _git(*args: str) -> str | None:
    """``git args`` in trigkit's own checkout; None where git or the checkout is missing."""
    git = shutil.which("git")
    if git is None or not (_REPO / ".git").exists():
        return None
    try:
        done = subprocess.run(
            [git, "-C", str(_REPO), *args], capture_output=True, text=True, timeout=20, check=True
        )
    except (subprocess.SubprocessError, OSError):
        return None
    return done.stdout.strip()


def git_commit() -> str | None:
    return _git("rev-parse", "HEAD")


def git_dirty() -> bool | None:
    """Whether tracked source files differ from the commit (results are not counted)."""
    out = _git(
        "status",
        "--porcelain",
        "--untracked-files=no",
        "--",
        "src",
        "bench",
        ":(exclude)bench/results",
    )
    return None if out is None else bool(out)


def provenance(threads: dict[str, int] | None = None) -> dict[str, Any]:
    """git commit (+ dirty), command line, time, load average and CPU count of this run."""
    record: dict[str, Any] = {
        "git_commit": git_commit(),
        "git_dirty": git_dirty(),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "unix_time": round(time.time()),
        "loadavg": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "cpu_count": os.cpu_count(),
    }
    if threads is not None:
        record["threads"] = dict(threads)
    return record


def _is_ancestor(a: str, b: str) -> bool | None:
    """Whether commit ``a`` is an ancestor of ``b`` (None: git cannot tell)."""
    git = shutil.which("git")
    if git is None:
        return None
    done = subprocess.run(
        [git, "-C", str(_REPO), "merge-base", "--is-ancestor", a, b],
        capture_output=True,
        timeout=20,
        check=False,
    )
    return {0: True, 1: False}.get(done.returncode)


def recorded_commit(path: Path) -> str | None:
    """The commit stored in an existing result JSON (top level or any nested record)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            prov = item.get("provenance")
            if isinstance(prov, dict) and isinstance(prov.get("git_commit"), str):
                return prov["git_commit"]
            stack += list(item.values())
    return None


def check_overwrite(path: Path, allow_older: bool) -> None:
    """TrigkitError when writing ``path`` would replace a result of newer or unrelated code."""
    old, new = (recorded_commit(path) if path.exists() else None), git_commit()
    if old is None or new is None or old == new:
        return
    if _is_ancestor(old, new):
        log.warning("%s: replacing a result made by older code (commit %s)", path, old[:12])
        return
    why = "newer" if _is_ancestor(new, old) else "unrelated (or unknown)"
    if allow_older:
        log.warning("%s: replacing a result made by %s code (commit %s)", path, why, old[:12])
        return
    raise TrigkitError(
        f"{path}: holds a result made by {why} code (commit {old[:12]}; this is {new[:12]}); "
        "pass --allow-older to replace it, or write elsewhere with --out"
    )


def write_result(path: Path, record: dict[str, Any], allow_older: bool = False) -> None:
    """Check :func:`check_overwrite`, then write ``record`` as JSON atomically."""
    check_overwrite(path, allow_older)
    write_text(path, json.dumps(record, indent=2, default=str) + "\n")
