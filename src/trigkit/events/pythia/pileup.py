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
from numba import njit

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


def overlay_chunk(
    pool: Pool, rng: np.random.Generator, mu: float, n_events: int
) -> tuple[np.ndarray, np.ndarray]:
    """Pileup of ``n_events`` hard events in one draw: (particles (m, 11) with is_pu = 1 and
    vertex z in columns 9, 10, grouped by event in order; particle count of each event)."""
    n_pu = rng.poisson(mu, n_events) if mu > 0 else np.zeros(n_events, dtype=np.int64)
    total = int(n_pu.sum())
    picks = rng.integers(0, len(pool), total)
    zs = rng.normal(0.0, SIGMA_Z_MM, total)
    rots = rng.uniform(-np.pi, np.pi, total)
    lens = pool.offsets[picks + 1] - pool.offsets[picks]
    counts = np.bincount(np.repeat(np.arange(n_events), n_pu), lens, minlength=n_events)
    return _place(pool, picks, zs, rots), counts.astype(np.int64)


def _place(pool: Pool, picks: np.ndarray, zs: np.ndarray, rots: np.ndarray) -> np.ndarray:
    """The picked pool events' particles, each rotated by its angle and shifted to its z."""
    lens = pool.offsets[picks + 1] - pool.offsets[picks]
    out = np.empty((int(lens.sum()), 11))
    _place_kernel(np.ascontiguousarray(pool.parts), pool.offsets, picks, zs, rots, out)
    return out


@njit(cache=True)
def _place_kernel(
    parts: np.ndarray,
    offsets: np.ndarray,
    picks: np.ndarray,
    zs: np.ndarray,
    rots: np.ndarray,
    out: np.ndarray,
) -> None:
    row = 0
    for v in range(len(picks)):
        c, s, z = np.cos(rots[v]), np.sin(rots[v]), zs[v]
        for i in range(offsets[picks[v]], offsets[picks[v] + 1]):
            p = parts[i]
            out[row, 0] = c * p[0] - s * p[1]
            out[row, 1] = s * p[0] + c * p[1]
            out[row, 2], out[row, 3] = p[2], p[3]
            out[row, 4] = c * p[4] - s * p[5]
            out[row, 5] = s * p[4] + c * p[5]
            out[row, 6] = p[6] + z
            out[row, 7], out[row, 8] = p[7], p[8]
            out[row, 9], out[row, 10] = 1.0, z
            row += 1
