"""Samples cached by config hash: a rerun with the same config reads the file instantly.

``<cache>/<process>-<digest>.parquet`` (:meth:`PythiaConfig.digest`) is written atomically
(core.atomic via write_parquet), so a run killed mid-way leaves no file behind and the next run
regenerates it. The cache lives in
``$TRIGKIT_CACHE/pythia`` (default ``~/.cache/trigkit/pythia``).
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from trigkit.events.batch import EventBatch
from trigkit.events.parquet_io import read_parquet, write_parquet
from trigkit.events.pythia.config import PythiaConfig
from trigkit.events.pythia.engine import Progress, run

logger = logging.getLogger(__name__)


def cache_dir() -> Path:
    root = os.environ.get("TRIGKIT_CACHE") or Path.home() / ".cache" / "trigkit"
    return Path(root) / "pythia"


def sample_path(cfg: PythiaConfig, root: Path | None = None) -> Path:
    return (root or cache_dir()) / f"{cfg.process}-{cfg.digest()}.parquet"


def cached_sample(
    cfg: PythiaConfig,
    root: Path | None = None,
    progress: Progress | None = None,
    workers: int = 1,
) -> tuple[Path, bool]:
    """Path of the sample's cached Parquet (generated if absent) and whether it was a hit.

    ``workers`` (processes) is not part of the key: the events do not depend on it."""
    path = sample_path(cfg, root)
    if path.exists():
        logger.info("pythia sample from cache: %s", path)
        return path, True
    batch = run(cfg, path.parent, progress, workers)
    write_parquet([batch], path)
    return path, False


def generate(
    cfg: PythiaConfig, root: Path | None = None, progress: Progress | None = None
) -> EventBatch:
    """The sample as an EventBatch, from the cache when possible."""
    path, _ = cached_sample(cfg, root, progress)
    return read_parquet(path)


def copy_to(src: Path, dest: Path) -> None:
    """Copy a cached sample to ``dest`` atomically."""
    from trigkit.core.atomic import atomic_path

    with atomic_path(dest, suffix=".parquet.tmp") as tmp:
        shutil.copyfile(src, tmp)
