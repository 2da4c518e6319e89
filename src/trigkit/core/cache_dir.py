"""A cache directory that can be written: the preferred one, else one per user under /tmp."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def writable_dir(preferred: Path, tmp_name: str) -> Path:
    """``preferred`` (created) when this process may write it, else ``<tmp>/<tmp_name>-<uid>``
    (a read-only home, a full disk): a cache that cannot be written must not stop a run."""
    try:
        preferred.mkdir(parents=True, exist_ok=True)
        if os.access(preferred, os.W_OK):
            return preferred
    except OSError:
        pass
    uid = os.getuid() if hasattr(os, "getuid") else 0
    fallback = Path(tempfile.gettempdir()) / f"{tmp_name}-{uid}"
    fallback.mkdir(parents=True, exist_ok=True)
    return fallback
