"""One-pass summary of an event sample (what ``trigkit events info`` prints).

Everything is accumulated chunk by chunk; only the mHH values (8 bytes per event that has one)
are kept to give exact quantiles.  Counts and fractions are unweighted (numbers of events or
jets); ``sum_weights`` is the only weighted quantity.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import awkward as ak
import numpy as np

from trigkit.events.batch import EventBatch

MHH_PERCENTS = (5.0, 25.0, 50.0, 75.0, 95.0)
N_BJET_BINS = 5  # 0, 1, 2, 3, >= 4 b jets


@dataclass(frozen=True)
class EventSummary:
    """Counts of a sample.  ``bjet_fractions[k]`` is the fraction of events with k jets of
    ``hadron_flavour == 5`` (the last bin: 4 or more)."""

    n_events: int
    sum_weights: float
    n_jets: int
    mean_jets: float
    bjet_fractions: tuple[float, ...]
    n_jets_unknown_flavour: int
    n_with_mhh: int
    mhh_quantiles: tuple[tuple[float, float], ...]  # (percent, GeV); empty without Higgs truth
    n_fatjets: int | None  # None when no source had a fat-jet collection
    mean_fatjets: float
    trigger_counts: tuple[tuple[str, int], ...]  # top N bits by number of events that fired
    n_trigger_bits: int
    processes: tuple[str, ...] = field(default=())


@dataclass
class _Accumulator:
    n_events: int = 0
    sum_weights: float = 0.0
    n_jets: int = 0
    n_unknown: int = 0
    bjet_counts: np.ndarray = field(default_factory=lambda: np.zeros(N_BJET_BINS, dtype=np.int64))
    mhh: list[np.ndarray] = field(default_factory=list)
    n_fatjets: int | None = None
    triggers: dict[str, int] = field(default_factory=dict)
    processes: list[str] = field(default_factory=list)

    def add(self, batch: EventBatch) -> None:
        self.n_events += len(batch)
        self.sum_weights += float(np.sum(batch.weight, dtype=np.float64))
        njets = ak.to_numpy(ak.num(batch.jets, axis=1))
        self.n_jets += int(njets.sum())
        flavour = batch.jets.hadron_flavour
        self.n_unknown += int(ak.sum(flavour < 0))
        nb = np.minimum(ak.to_numpy(ak.sum(flavour == 5, axis=1)), N_BJET_BINS - 1)
        self.bjet_counts += np.bincount(nb, minlength=N_BJET_BINS)
        mhh = ak.to_numpy(batch.truth.mhh).astype(np.float64)
        self.mhh.append(mhh[np.isfinite(mhh)])
        if batch.fatjets is not None:
            self.n_fatjets = (self.n_fatjets or 0) + int(ak.sum(ak.num(batch.fatjets, axis=1)))
        for name, bits in batch.triggers.items():
            self.triggers[name] = self.triggers.get(name, 0) + int(np.count_nonzero(bits))
        if batch.process not in self.processes:
            self.processes.append(batch.process)

    def result(self, top_triggers: int) -> EventSummary:
        n = self.n_events
        mhh = np.concatenate(self.mhh) if self.mhh else np.zeros(0)
        quantiles = (
            tuple(
                (p, float(q))
                for p, q in zip(MHH_PERCENTS, np.percentile(mhh, MHH_PERCENTS), strict=True)
            )
            if mhh.size
            else ()
        )
        ranked = sorted(self.triggers.items(), key=lambda kv: (-kv[1], kv[0]))
        return EventSummary(
            n_events=n,
            sum_weights=self.sum_weights,
            n_jets=self.n_jets,
            mean_jets=self.n_jets / n if n else float("nan"),
            bjet_fractions=tuple(float(c) / n if n else float("nan") for c in self.bjet_counts),
            n_jets_unknown_flavour=self.n_unknown,
            n_with_mhh=int(mhh.size),
            mhh_quantiles=quantiles,
            n_fatjets=self.n_fatjets,
            mean_fatjets=(self.n_fatjets / n)
            if (n and self.n_fatjets is not None)
            else float("nan"),
            trigger_counts=tuple(ranked[:top_triggers]),
            n_trigger_bits=len(self.triggers),
            processes=tuple(self.processes),
        )


def summarize(
    batches: Iterable[EventBatch] | EventBatch, *, top_triggers: int = 10
) -> EventSummary:
    """Summarise a stream of batches (or one batch) in a single pass."""
    acc = _Accumulator()
    for batch in [batches] if isinstance(batches, EventBatch) else batches:
        acc.add(batch)
    return acc.result(top_triggers)
