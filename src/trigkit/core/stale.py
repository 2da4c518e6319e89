"""Find and remove the temporary siblings a killed writer left behind.

:mod:`trigkit.core.atomic` names every temporary ``.<dest name>.tk-<host>-<pid>-<random><suffix>``
(``<host>`` an 8-hex hash of the host name, so a pid on a shared file system is only trusted on
the host that wrote it). Before a write to ``dest``, :func:`sweep` removes the siblings of
``dest`` that match that pattern exactly and whose writer is gone: the pid is not running (or is
a zombie) on this host, or the file has not been modified for ``max_age_s``. Names from older
trigkit versions (``.<dest name>.<random><suffix>``, no pid) are removed only by age. Nothing
else in the directory is touched.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import socket
import time
from pathlib import Path

logger = logging.getLogger(__name__)

#: a temporary untouched this long belongs to no live writer, whatever its pid says (pid reuse,
#: another host); live writers append to their file, so its mtime keeps moving
MAX_AGE_S = 6 * 3600.0
_RANDOM = r"[a-z0-9_]{8}"  # tempfile's name sequence


def host_tag() -> str:
    """8 hex digits identifying this host in temporary names."""
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]


def temp_prefix(dest: Path) -> str:
    """The mkstemp/mkdtemp prefix for a temporary sibling of ``dest`` owned by this process."""
    return f".{dest.name}.tk-{host_tag()}-{os.getpid()}-"


def _patterns(dest: Path, suffixes: tuple[str, ...]) -> tuple[re.Pattern[str], re.Pattern[str]]:
    name = re.escape(dest.name)
    tail = "(?:" + "|".join(re.escape(s) for s in suffixes) + ")" if suffixes else ""
    owned = re.compile(
        rf"\.{name}\.(?:tk-(?P<host>[0-9a-f]{{8}})-(?P<pid>\d+)-{_RANDOM}{tail}"
        rf"|old-(?P<oldpid>\d+)(?:-{_RANDOM})?)"
    )
    legacy = re.compile(rf"\.{name}\.{_RANDOM}{tail}")
    return owned, legacy


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` is a running (not zombie) process on this host."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's live process
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc (macOS): trust kill(0)
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def _is_stale(path: Path, match: re.Match[str] | None, now: float, max_age_s: float) -> bool:
    try:
        age = now - path.lstat().st_mtime
    except FileNotFoundError:
        return False
    if age > max_age_s:
        return True
    if match is None:  # legacy name: no owner recorded
        return False
    if match["oldpid"] is not None:
        return not pid_alive(int(match["oldpid"]))
    return match["host"] == host_tag() and not pid_alive(int(match["pid"]))


def sweep(dest: Path, suffixes: tuple[str, ...] = (), max_age_s: float = MAX_AGE_S) -> list[Path]:
    """Remove the stale temporary siblings of ``dest``; return those removed.

    ``suffixes``: the temporary suffixes to look for (those the caller's writes use; empty
    matches names without a suffix only). Never raises for a sibling that vanished meanwhile.
    """
    owned, legacy = _patterns(dest, suffixes)
    removed: list[Path] = []
    now = time.time()
    try:
        entries = list(os.scandir(dest.parent))
    except OSError:
        return removed
    for entry in entries:
        match = owned.fullmatch(entry.name)
        if match is None and legacy.fullmatch(entry.name) is None:
            continue
        path = Path(entry.path)
        if not _is_stale(path, match, now, max_age_s):
            continue
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        logger.warning("removed %s, left behind by a writer that is gone", path)
        removed.append(path)
    return removed
