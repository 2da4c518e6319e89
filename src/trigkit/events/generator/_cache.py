"""Keep numba's on-disk cache of the generator kernels in step with their sources.

numba's ``cache=True`` only checks the timestamp of the file that defines a jitted function, not
of the helpers it inlines from other modules; editing ``tracks.py`` would silently keep the old
``kernels.event_pass`` machine code. On import we hash every module of this package and drop the
package's cache files when the hash changed.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

logger = logging.getLogger(__name__)

_HERE = Path(__file__).resolve().parent
_STAMP = "trigkit-generator-sources.sha256"


_NOT_JITTED = {"__init__.py", "build.py", "_cache.py"}


def source_digest() -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in _HERE.glob("*.py") if p.name not in _NOT_JITTED):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def sync_numba_cache() -> None:
    cache_dir = _HERE / "__pycache__"
    digest = source_digest()
    stamp = cache_dir / _STAMP
    try:
        if stamp.exists() and stamp.read_text().strip() == digest:
            return
        if cache_dir.is_dir():
            for f in list(cache_dir.glob("*.nbi")) + list(cache_dir.glob("*.nbc")):
                f.unlink(missing_ok=True)
        cache_dir.mkdir(exist_ok=True)
        stamp.write_text(digest)
        logger.debug("generator sources changed; numba cache cleared")
    except OSError as exc:  # read-only install: numba then compiles in memory or elsewhere
        logger.debug("cannot sync numba cache in %s: %s", cache_dir, exc)
