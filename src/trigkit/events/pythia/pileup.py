"""Pileup: a minimum-bias pool generated once (cached), overlaid at Poisson(mu) per event.

Generating 60 fresh minimum-bias events per hard event would cost 60x the hard process; the
pool (SoftQCD:inelastic, ``pool_size`` events) is made once per (size, seed) and reused, each
overlaid copy with its own vertex z ~ N(0, 35 mm) (CMS Run-3 luminous region) and a random
rotation in phi by a whole number of towers (2 pi / 72), so no two overlays of the same pool
event look alike to the detector. Vertices within ``far.NEAR_DZ_MM`` of the primary one are
written out particle by particle (:func:`assemble`) for the full detector; the others bring
their pool event's precomputed detector response (:mod:`pool_response`, :func:`far_vertices`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
from numba import njit

from trigkit.core.atomic import atomic_path
from trigkit.events.pythia import calo, pool_response, record, settings
from trigkit.events.pythia.far import N_ROT, NEAR_DZ_MM, Far, PoolResponse

logger = logging.getLogger(__name__)

SIGMA_Z_MM = 35.0
# every detector element (tracker 2.5, L1 towers 3.0, calorimeter 4.7) lies inside |eta| < 4.7;
# the margin keeps particles a rounding away from the edge for the kernels' own cuts to decide
ETA_ACCEPTANCE = calo.ETA_CALO + 1e-6


@dataclass(frozen=True)
class Pool:
    """Visible final-state particles of ``len(offsets) - 1`` minimum-bias events (record cols)."""

    parts: np.ndarray
    offsets: np.ndarray

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @cached_property
    def response(self) -> PoolResponse:
        """Each event's detector response (:mod:`pool_response`), computed on first use."""
        return pool_response.compute(self.parts, self.offsets)

    def in_acceptance(self) -> Pool:
        """The same events without the particles no detector element can see
        (:func:`in_acceptance`): about a third of a minimum-bias event is forward."""
        keep = in_acceptance(self.parts)
        ev = np.repeat(np.arange(len(self)), np.diff(self.offsets))
        offsets = np.zeros(len(self) + 1, dtype=np.int64)
        np.cumsum(np.bincount(ev[keep], minlength=len(self)), out=offsets[1:])
        return Pool(np.ascontiguousarray(self.parts[keep]), offsets)


def in_acceptance(parts: np.ndarray) -> np.ndarray:
    """Mask of the particles (record columns) with pT > 0 and |eta| < ``ETA_ACCEPTANCE``."""
    pt = np.hypot(parts[:, 0], parts[:, 1])
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = np.arcsinh(parts[:, 2] / pt)
    return (pt > 0) & (np.abs(eta) < ETA_ACCEPTANCE)


def load_or_make(
    path: Path, size: int, seed: int, progress: Callable[[int], None] | None = None
) -> Pool:
    """Read the pool from ``path`` or generate it and write it atomically; the file holds
    every visible particle, the pool returned only those in the detector's acceptance."""
    if path.exists():
        with np.load(path) as f:
            if len(f["offsets"]) - 1 == size:
                logger.info("pileup pool from cache %s", path)
                return Pool(f["parts"], f["offsets"]).in_acceptance()
    pool = make(size, seed, progress, path.parent / "mpi-init-minbias.dat")
    with atomic_path(path, suffix=".npz") as tmp, open(tmp, "wb") as fh:
        np.savez(fh, parts=pool.parts, offsets=pool.offsets)
    return pool.in_acceptance()


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


@dataclass(frozen=True)
class Overlay:
    """Which pool events a chunk's hard events get: ``n_pu`` vertices per event, then per
    vertex (in event order) the pool event, its z (mm) and its rotation in phi (whole towers,
    ``rot_bins`` x 2 pi / N_ROT)."""

    n_pu: np.ndarray
    picks: np.ndarray
    zs: np.ndarray
    rot_bins: np.ndarray

    @property
    def rots(self) -> np.ndarray:
        return self.rot_bins * (2.0 * np.pi / N_ROT)

    def near(self, zpv: np.ndarray) -> np.ndarray:
        """Mask of the vertices within ``NEAR_DZ_MM`` of their event's primary vertex."""
        return np.abs(self.zs - np.repeat(zpv, self.n_pu)) < NEAR_DZ_MM


def draw(pool: Pool, rng: np.random.Generator, mu: float, n_events: int) -> Overlay:
    """Poisson(mu) pileup vertices for each of ``n_events`` events, drawn in one go."""
    n_pu = rng.poisson(mu, n_events) if mu > 0 else np.zeros(n_events, dtype=np.int64)
    total = int(n_pu.sum())
    picks = rng.integers(0, len(pool), total)
    zs = rng.normal(0.0, SIGMA_Z_MM, total)
    rots = rng.integers(0, N_ROT, total)
    return Overlay(n_pu.astype(np.int64), picks.astype(np.int64), zs, rots.astype(np.int64))


def far_vertices(pool: Pool, ov: Overlay, near: np.ndarray) -> Far:
    """The overlay's vertices outside ``near``, with the pool's detector response."""
    far = ~near
    ev = np.repeat(np.arange(len(ov.n_pu)), ov.n_pu)[far]
    off = np.zeros(len(ov.n_pu) + 1, dtype=np.int64)
    np.cumsum(np.bincount(ev, minlength=len(ov.n_pu)), out=off[1:])
    return Far(off, ov.picks[far], ov.zs[far], ov.rot_bins[far], pool.response)


def assemble(
    hard: np.ndarray,
    n_hard: np.ndarray,
    zpv: np.ndarray,
    pool: Pool | None,
    ov: Overlay | None,
    write: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The chunk's particles (m, 11): per event its hard particles (shifted to its vertex
    ``zpv``, is_pu = 0) then its pileup (rotated, shifted, is_pu = 1), written in one pass;
    and the per-event offsets. Columns: px py pz e x y z charge pid is_pu z_vertex.
    ``write``: which vertices' particles to write (default all)."""
    if pool is None or ov is None:
        pool = Pool(np.zeros((0, 9)), np.zeros(1, dtype=np.int64))
        none = np.zeros(0, dtype=np.int64)
        ov = Overlay(np.zeros(len(n_hard), dtype=np.int64), none, np.zeros(0), none)
    lens = pool.offsets[ov.picks + 1] - pool.offsets[ov.picks]
    if write is not None:
        lens = np.where(write, lens, 0)
    ev_of_vertex = np.repeat(np.arange(len(n_hard)), ov.n_pu)
    n_pu = np.bincount(ev_of_vertex, lens, minlength=len(n_hard)).astype(np.int64)
    off = np.zeros(len(n_hard) + 1, dtype=np.int64)
    np.cumsum(n_hard + n_pu, out=off[1:])
    out = np.empty((int(off[-1]), 11))
    _assemble_kernel(
        np.ascontiguousarray(hard, dtype=np.float64).reshape(-1, 9),
        n_hard.astype(np.int64),
        zpv,
        np.ascontiguousarray(pool.parts),
        pool.offsets,
        ov.n_pu,
        ov.picks.astype(np.int64),
        ov.zs,
        ov.rots,
        np.ones(len(ov.picks), dtype=np.bool_) if write is None else write,
        out,
    )
    return out, off


@njit(cache=True)
def _assemble_kernel(
    hard: np.ndarray,
    n_hard: np.ndarray,
    zpv: np.ndarray,
    parts: np.ndarray,
    offsets: np.ndarray,
    n_pu: np.ndarray,
    picks: np.ndarray,
    zs: np.ndarray,
    rots: np.ndarray,
    write: np.ndarray,
    out: np.ndarray,
) -> None:
    row, h, v = 0, 0, 0
    for ev in range(len(n_hard)):
        for _ in range(n_hard[ev]):
            for c in range(9):
                out[row, c] = hard[h, c]
            out[row, 6] += zpv[ev]
            out[row, 9], out[row, 10] = 0.0, zpv[ev]
            row += 1
            h += 1
        for _ in range(n_pu[ev]):
            if not write[v]:
                v += 1
                continue
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
            v += 1
