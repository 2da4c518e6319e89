"""Write files and directories so that a reader never sees half of them.

Everything is written to a temporary sibling first and renamed into place only when complete;
on any exception the temporary is removed and the destination is left as it was. A writer
killed outright (SIGKILL, power loss) cannot clean up: the next write to the same destination
removes what it left (:mod:`trigkit.core.stale`). Concurrent writers to one destination each
write their own temporary; the last rename wins and no reader sees a torn file.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from trigkit.core.stale import sweep, temp_prefix

#: times atomic_dir retries its swap when a concurrent writer moves the destination meanwhile
_SWAP_TRIES = 20


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(dest: str | os.PathLike[str], suffix: str = "") -> Iterator[Path]:
    """Yield a temporary file path next to ``dest``; rename it onto ``dest`` on success."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    suffix = suffix or ".tmp"
    sweep(dest, (suffix,))
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(dest), suffix=suffix, dir=dest.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual mode
    try:
        yield tmp_path
        os.replace(tmp_path, dest)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def _swap_in(tmp: Path, dest: Path) -> None:
    """Rename directory ``tmp`` onto ``dest``, moving an existing ``dest`` aside first.

    Another writer may swap its own directory in between our two renames; then ours is moved
    aside again and retried, so the last writer to finish wins.
    """
    for _ in range(_SWAP_TRIES):
        try:
            os.replace(tmp, dest)
            return
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR, errno.EISDIR):
                raise
        old = Path(tempfile.mkdtemp(prefix=f".{dest.name}.old-{os.getpid()}-", dir=dest.parent))
        try:
            os.replace(dest, old)  # onto our own empty directory: atomic
        except FileNotFoundError:
            pass  # another writer moved it away first; try again
        finally:
            shutil.rmtree(old, ignore_errors=True)
    raise OSError(errno.EBUSY, f"{dest}: kept being replaced by other writers", str(dest))


@contextlib.contextmanager
def atomic_dir(dest: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary directory next to ``dest``; swap it into place on success.

    An existing ``dest`` is replaced only after the new content is complete.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    sweep(dest)
    tmp = Path(tempfile.mkdtemp(prefix=temp_prefix(dest), dir=dest.parent))
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700
    try:
        yield tmp
        _swap_in(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_text(dest: str | os.PathLike[str], text: str) -> None:
    with atomic_path(dest) as tmp:
        tmp.write_text(text)
