"""Pileup: a minimum-bias pool generated once (cached), overlaid at Poisson(mu) per event.

Generating 60 fresh minimum-bias events per hard event would cost 60x the hard process; the
pool (SoftQCD:inelastic, ``pool_size`` events) is made once per (size, seed) and reused, each
overlaid copy with its own vertex z ~ N(0, 35 mm) (CMS Run-3 luminous region) and a random
rotation in phi, so no two overlays of the same pool event look alike to the detector.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trigkit.core.atomic import atomic_path
from trigkit.events.pythia import record, settings

logger = logging.getLogger(__name__)

SIGMA_Z_MM = 35.0


@dataclass(frozen=True)
class Pool:
    """Visible final-state particles of ``len(offsets) - 1`` minimum-bias events (record cols)."""

    parts: np.ndarray
    offsets: np.ndarray

    def __len__(self) -> int:
        return len(self.offsets) - 1


def load_or_make(
    path: Path, size: int, seed: int, progress: Callable[[int], None] | None = None
) -> Pool:
    """Read the pool from ``path`` or generate it and write it atomically."""
    if path.exists():
        with np.load(path) as f:
            if len(f["offsets"]) - 1 == size:
                logger.info("pileup pool from cache %s", path)
                return Pool(f["parts"], f["offsets"])
    pool = make(size, seed, progress, path.parent / "mpi-init-minbias.dat")
    with atomic_path(path, suffix=".npz") as tmp, open(tmp, "wb") as fh:
        np.savez(fh, parts=pool.parts, offsets=pool.offsets)
    return pool


def make(
    size: int,
    seed: int,
    progress: Callable[[int], None] | None = None,
    mpi_init: Path | None = None,
) -> Pool:
    pythia = settings.build(settings.minbias_settings(), seed, "the minimum-bias pool", mpi_init)
    chunks, counts = [], []
    for _ in range(size):
        with settings.captured_stdout():  # Pythia's per-event warnings
            while not pythia.next():
                pass
        parts = record.read_final(pythia.event)
        chunks.append(parts)
        counts.append(len(parts))
        if progress is not None:
            progress(1)
    offsets = np.zeros(size + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return Pool(np.concatenate(chunks), offsets)


def overlay(pool: Pool, rng: np.random.Generator, mu: float) -> tuple[np.ndarray, np.ndarray]:
    """(particles with is_pu = 1 and their vertex z in columns 9, 10; vertex z of each)."""
    n = rng.poisson(mu) if mu > 0 else 0
    picks = rng.integers(0, len(pool), n)
    zs = rng.normal(0.0, SIGMA_Z_MM, n)
    rots = rng.uniform(-np.pi, np.pi, n)
    lens = pool.offsets[picks + 1] - pool.offsets[picks]
    which = np.repeat(np.arange(n), lens)
    starts = np.repeat(pool.offsets[picks] - np.cumsum(lens) + lens, lens)
    p = pool.parts[starts + np.arange(len(which))]
    c, s = np.cos(rots)[which], np.sin(rots)[which]
    z = zs[which]
    q = np.empty((len(p), 11))
    q[:, 0], q[:, 1] = c * p[:, 0] - s * p[:, 1], s * p[:, 0] + c * p[:, 1]
    q[:, 4], q[:, 5] = c * p[:, 4] - s * p[:, 5], s * p[:, 4] + c * p[:, 5]
    q[:, [2, 3, 7, 8]] = p[:, [2, 3, 7, 8]]
    q[:, 6] = p[:, 6] + z
    q[:, 9], q[:, 10] = 1.0, z
    return q, zs
