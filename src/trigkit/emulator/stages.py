"""L1 -> HLT in order, with prescales applied by deterministic counters.

The one-pass kernel gives raw bits (HLT rows already require an unprescaled L1 seed). Here:

1. L1: seed ``s`` with prescale N keeps its 1st, (N+1)-th, (2N+1)-th ... firing event (counting
   in event order over everything processed, so splitting the input into files or chunks does
   not change which events are kept); N = 0 disables it.
2. An HLT path runs on events where one of its seeds fired *after* L1 prescales; an unseeded
   path (``seeds: []``) runs on every L1-accepted event (the OR of the prescaled seeds), since
   the HLT never sees an event the L1 rejected. Its prescaler counts those events (as CMS's
   HLTPrescaler sits right after the L1 seed filter) and keeps every N-th; the path accepts when
   it is kept and its filters pass.

That is what the hardware does. For rate / efficiency estimates on weighted MC, where which
events a counter keeps is arbitrary, ``trigkit emulate --prescale-mode expected`` instead weights
every event by the probability that it survives the prescales (see
:mod:`trigkit.emulator.prescale_expected`); :class:`Decisions` therefore also carries the raw HLT
bits, the prescales and the seed indices.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trigkit.emulator.compiled import CompiledMenu


def prescale_mask(candidates: np.ndarray, prescale: int) -> np.ndarray:
    """Keep every ``prescale``-th True of ``candidates`` (the first one included); 0 keeps none."""
    candidates = np.asarray(candidates, dtype=bool)
    if prescale == 0:
        return np.zeros_like(candidates)
    if prescale == 1:
        return candidates.copy()
    rank = np.cumsum(candidates) - 1  # 0 for the first candidate
    return candidates & (rank % prescale == 0)


@dataclass(frozen=True)
class Decisions:
    """Per-event trigger decisions for one sample, columns named by ``l1_names`` / ``hlt_names``."""

    l1_names: tuple[str, ...]
    hlt_names: tuple[str, ...]
    l1_raw: np.ndarray  # (n, n_l1) bool, before prescales
    l1: np.ndarray  # (n, n_l1) bool, after prescales
    hlt: np.ndarray  # (n, n_hlt) bool, final accept
    l1_accept: np.ndarray  # (n,) OR of prescaled L1 seeds
    hlt_accept: np.ndarray  # (n,) OR of HLT paths
    # for --prescale-mode expected (prescale_expected.py): the inputs of the counters
    hlt_raw: np.ndarray | None = None  # (n, n_hlt) bool: raw seed AND filters (unseeded: filters)
    l1_prescale: tuple[int, ...] = ()
    hlt_prescale: tuple[int, ...] = ()
    hlt_seeds: tuple[tuple[int, ...], ...] = ()  # L1 column indices; () = unseeded (the L1 OR)

    def path(self, name: str) -> np.ndarray:
        if name in self.hlt_names:
            return self.hlt[:, self.hlt_names.index(name)]
        return self.l1[:, self.l1_names.index(name)]


def apply_stages(cmenu: CompiledMenu, raw: np.ndarray) -> Decisions:
    """Turn the one-pass kernel output (all events, in order) into final decisions.

    ``raw[:, n_l1 + p]`` is "a raw seed fired AND the filters passed" (for an unseeded path:
    the filters passed); with L1 prescales of 1 the seed part is already exact, and otherwise the
    seed requirement is recomputed from the prescaled L1 bits (a subset of the raw ones, so raw
    AND prescaled-seed is exact). Unseeded paths are ANDed with the L1 accept here.
    """
    menu = cmenu.menu
    n_l1 = cmenu.n_l1
    l1_raw = raw[:, :n_l1]
    l1 = np.empty_like(l1_raw)
    for i, seed in enumerate(menu.l1.values()):
        l1[:, i] = prescale_mask(l1_raw[:, i], seed.prescale)
    hlt = np.zeros((raw.shape[0], cmenu.n_hlt), dtype=bool)
    l1_accept = np.asarray(l1.any(axis=1), dtype=bool)
    seeds = tuple(tuple(menu.l1_names.index(s) for s in path.seeds) for path in menu.hlt.values())
    for p, path in enumerate(menu.hlt.values()):
        refs = list(seeds[p])
        seeded = l1[:, refs].any(axis=1) if refs else l1_accept
        kept = prescale_mask(seeded, path.prescale)
        hlt[:, p] = kept & raw[:, n_l1 + p]
    return Decisions(
        l1_names=tuple(menu.l1_names),
        hlt_names=tuple(menu.hlt_names),
        l1_raw=l1_raw.copy(),
        l1=l1,
        hlt=hlt,
        l1_accept=l1_accept,
        hlt_accept=hlt.any(axis=1),
        hlt_raw=raw[:, n_l1 : n_l1 + cmenu.n_hlt].copy(),
        l1_prescale=tuple(int(seed.prescale) for seed in menu.l1.values()),
        hlt_prescale=tuple(int(path.prescale) for path in menu.hlt.values()),
        hlt_seeds=seeds,
    )
