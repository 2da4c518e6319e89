"""Latency budget table: L1 firmware latency and L1 OR rate vs the L1 budgets, HLT tagger time
vs its budget.

L1: ``latency_cycles / clock_mhz`` (ns) of the tagger firmware plus configurable fixed overheads
(links, trigger primitives, global trigger...) against 4 us (Run 3) or 12.5 us (Phase-2); and the
menu's L1 OR rate (from the background rates) against the L1 accept rate the HLT can take
(100 kHz Run 3, 750 kHz Phase-2, or ``--l1-accept-khz``): "EXCEEDS" when above it.

HLT, two figures, reported side by side:

(a) latency added to each event. The HLT processes one event at a time, so by default the
    tagger is called once per event with that event's jets: ``tagger_calls x latency(B_e)``,
    B_e being the smallest measured batch >= the number of tagged jets per L1-accepted event
    (rate-weighted mean, rounded up, or the ``--hlt-jets-quantile`` quantile), plus a fixed
    overhead, against the per-event budget (``--hlt-budget-ms``).
(b) throughput: GPUs needed to sustain the L1 accept rate R,
    ``ceil(R x gpu_ms_per_event / max_utilisation)``. By default at the per-event batch B_e (one
    event per call: ``gpu_ms_per_event`` is (a)'s tagger time). With ``--hlt-batch N`` (alias
    ``--batch-size``) jets of several events are pooled into batches of N:
    ``gpu_ms_per_event = tagger_calls x latency(N) x jets_per_event / N`` (amortised), and the
    first event of a batch waits for it to fill, ``N / (jets_per_event x R)``; that fill time plus
    ``latency(N)`` is then the latency added to an event in (a).

Latencies come from a `trigkit bench gpu` JSON (median per batch size, fastest runner at each
batch unless ``--runner``) or are given explicitly (``--hlt-latency-ms`` at ``--hlt-batch``, 1 by
default).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from trigkit.core.errors import TrigkitError

L1_BUDGET_NS = {"run3": 4000.0, "phase2": 12500.0}
L1_ACCEPT_HZ = {"run3": 100e3, "phase2": 750e3}


@dataclass(frozen=True)
class L1Budget:
    latency_cycles: int
    clock_mhz: float
    overheads_ns: dict[str, float] = field(default_factory=dict)
    budget_ns: float = L1_BUDGET_NS["run3"]

    @property
    def tagger_ns(self) -> float:
        return self.latency_cycles * 1e3 / self.clock_mhz

    @property
    def total_ns(self) -> float:
        return self.tagger_ns + sum(self.overheads_ns.values())

    @property
    def fits(self) -> bool:
        return self.total_ns <= self.budget_ns

    def rows(self) -> list[tuple[str, float]]:
        rows = [
            (
                f"tagger firmware ({self.latency_cycles} cycles @ {self.clock_mhz:g} MHz)",
                self.tagger_ns,
            )
        ]
        rows += list(self.overheads_ns.items())
        return rows


@dataclass(frozen=True)
class L1RateCheck:
    """The menu's L1 OR rate against the L1 accept rate the HLT can take."""

    l1_or_hz: float
    l1_or_error_hz: float
    l1_accept_hz: float

    @property
    def exceeds(self) -> bool:
        return self.l1_or_hz > self.l1_accept_hz

    @property
    def verdict(self) -> str:
        return "exceeds" if self.exceeds else "fits"

    @property
    def ratio(self) -> float:
        return self.l1_or_hz / self.l1_accept_hz


@dataclass(frozen=True)
class HLTBudget:
    """HLT tagger latency per event (a) and GPU count (b); see the module docstring.

    ``batch_size`` / ``batch_latency_ms`` are the batch used for the GPU count and its measured
    latency; ``event_*`` describe the one-event-per-call batch (default: the same). ``pooled``:
    events are pooled into batches of ``batch_size`` (``--hlt-batch``), so the fill time counts.
    """

    jets_per_event: float  # tagged jets per L1-accepted event (rate-weighted mean)
    batch_size: int
    batch_latency_ms: float  # runner latency for one batch of ``batch_size``
    overhead_ms: float = 0.0
    budget_ms: float = 500.0
    l1_accept_hz: float = L1_ACCEPT_HZ["run3"]
    max_utilisation: float = 0.8
    latency_source: str = "user"
    pooled: bool = False
    tagger_calls: int = 1  # tagger invocations per event (each on all the event's jets)
    event_jets: float | None = None  # jets/event that chose the event batch (None: jets_per_event)
    jets_quantile: float | None = None  # the quantile event_jets is (None: the mean)
    event_batch_size: int | None = None  # None: batch_size
    event_latency_ms: float | None = (
        None  # runner latency at event_batch_size (None: batch_latency_ms)
    )
    event_latency_source: str | None = None

    @property
    def _event_jets(self) -> float:
        return self.jets_per_event if self.event_jets is None else self.event_jets

    @property
    def _event_batch(self) -> int:
        return self.batch_size if self.event_batch_size is None else self.event_batch_size

    @property
    def _event_ms(self) -> float:
        return self.batch_latency_ms if self.event_latency_ms is None else self.event_latency_ms

    def _calls(self, batch: int) -> int:
        """Runner calls per event for batches of ``batch`` holding one event's jets (more than one
        only where the event has more jets than the batch)."""
        return self.tagger_calls * max(1, math.ceil(self._event_jets / batch - 1e-9))

    @property
    def event_calls(self) -> int:
        return self._calls(self._event_batch)

    @property
    def event_tagger_ms(self) -> float:
        """(a) without pooling: the tagger time of one event called with its own jets."""
        return self.event_calls * self._event_ms

    @property
    def fill_ms(self) -> float:
        """Time for the L1 accepts to fill one pooled batch (0 when not pooled)."""
        if not self.pooled:
            return 0.0
        jets_hz = self.jets_per_event * self.l1_accept_hz
        return self.batch_size / jets_hz * 1e3 if jets_hz > 0 else math.inf

    @property
    def tagger_ms(self) -> float:
        """Tagger latency added to an event: fill time + pooled batch latency, else (a)."""
        if self.pooled:
            return self.fill_ms + self._calls(self.batch_size) * self.batch_latency_ms
        return self.event_tagger_ms

    @property
    def total_ms(self) -> float:
        """(a) the latency added to an event, compared with ``budget_ms``."""
        return self.tagger_ms + self.overhead_ms

    @property
    def fits(self) -> bool:
        return self.total_ms <= self.budget_ms

    @property
    def gpu_ms_per_event(self) -> float:
        """(b) GPU time per event: amortised over a pooled batch, else one call per event."""
        if self.pooled:
            return self.tagger_calls * self.batch_latency_ms * self.jets_per_event / self.batch_size
        return self.event_tagger_ms

    @property
    def gpus_needed(self) -> int:
        load = self.l1_accept_hz * self.gpu_ms_per_event * 1e-3
        return max(1, math.ceil(load / self.max_utilisation - 1e-12))


@dataclass(frozen=True)
class BudgetTable:
    l1: L1Budget | None
    hlt: HLTBudget | None
    l1_rate: L1RateCheck | None = None


_BATCH_KEYS = ("batch_size", "batch")
_LAT_KEYS = {
    "p50_us": 1e-3,
    "median_us": 1e-3,
    "mean_us": 1e-3,
    "latency_ms": 1.0,
    "median_ms": 1.0,
    "p50_ms": 1.0,
    "mean_ms": 1.0,
}
_NAME_KEYS = ("contender", "backend")


def _batch(rec: dict[str, Any]) -> int | None:
    for k in _BATCH_KEYS:
        if isinstance(rec.get(k), int):
            return int(rec[k])
    return None


def _record_ms(rec: dict[str, Any]) -> float | None:
    """The median (else mean) latency of one record in ms; ``{"median": x}`` objects accepted."""
    for k, scale in _LAT_KEYS.items():
        v = rec.get(k)
        if isinstance(v, dict):
            v = v.get("median", v.get("p50", v.get("mean")))
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return float(v) * scale
    return None


def _name(rec: dict[str, Any]) -> str:
    return next((str(rec[k]) for k in _NAME_KEYS if k in rec), "?")


def _latency_records(obj: Any) -> list[dict[str, Any]]:
    out = []
    if isinstance(obj, dict):
        if _batch(obj) is not None and _record_ms(obj) is not None:
            out.append(obj)
        for v in obj.values():
            out += _latency_records(v)
    elif isinstance(obj, list):
        for v in obj:
            out += _latency_records(v)
    return out


def _bench_records(path: str | Path, backend: str | None) -> tuple[Path, list[dict[str, Any]]]:
    p = Path(path)
    try:
        data = json.loads(p.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise TrigkitError(f"{p}: cannot read benchmark JSON ({exc})") from None
    recs = [r for r in _latency_records(data) if backend is None or _name(r) == backend]
    if not recs:
        names = sorted({_name(r) for r in _latency_records(data)})
        raise TrigkitError(
            f"{p}: no latency records"
            + (
                f" for runner '{backend}'; present: {', '.join(names)}"
                if backend
                else " (objects with batch/batch_size and p50_us/latency_ms...)"
            )
        )
    return p, recs


def bench_latencies(path: str | Path, backend: str | None = None) -> dict[int, tuple[float, str]]:
    """Batch size -> (latency in ms, description) of the fastest record of ``backend`` (all
    runners when None) at each batch size measured in a `trigkit bench gpu` JSON."""
    p, recs = _bench_records(path, backend)
    out: dict[int, tuple[float, str]] = {}
    for bs in sorted({b for r in recs if (b := _batch(r)) is not None}):
        rec = min((r for r in recs if _batch(r) == bs), key=lambda r: _record_ms(r) or math.inf)
        out[bs] = (float(_record_ms(rec) or 0.0), f"{p.name}: {_name(rec)} at batch {bs}")
    return out


def latency_from_bench(
    path: str | Path, batch_size: int | None = None, backend: str | None = None
) -> tuple[int, float, str]:
    """(batch size, latency in ms, description) from a `trigkit bench gpu` JSON.

    Records are objects (anywhere in the file, e.g. its ``points`` list) with a batch size
    (``batch`` / ``batch_size``), a latency (``p50_us``, ``median_us``, ``mean_us``, ``latency_ms``,
    ``median_ms``, ``p50_ms`` or ``mean_ms``) and a runner name (``contender`` / ``backend``).
    Among the records of ``backend`` (all when None) at ``batch_size`` (when None: the largest
    batch measured), the fastest is used.
    """
    lat = bench_latencies(path, backend)
    if batch_size is None:
        batch_size = max(lat)
    if batch_size not in lat:
        who = f" for runner '{backend}'" if backend else ""
        raise TrigkitError(
            f"{Path(path)}: no latency measured at batch size {batch_size}{who}; "
            f"measured: {', '.join(map(str, lat))}"
        )
    ms, what = lat[batch_size]
    return batch_size, ms, what


def event_batch(latencies: dict[int, Any], jets: float) -> int:
    """The smallest measured batch holding ``jets`` (rounded up) jets; the largest if none does."""
    need = max(1, math.ceil(jets - 1e-9))
    measured = sorted(latencies)
    return next((b for b in measured if b >= need), measured[-1])


def hlt_calls_per_event(samples: list[Any]) -> float:
    """Tagged jets per HLT-processed event: the rate-weighted mean number of offline jets
    (pt > 30 GeV, |eta| < 2.5) in the L1-accepted events of ``samples`` (the caller passes the
    background samples, which make up the L1 accept stream; the signal ones when there are none)."""
    num = den = 0.0
    for s in samples:
        acc = s.decisions.l1_accept
        w = np.abs(s.weight / s.lumi_pb)[acc]
        num += float((w * s.n_jets[acc]).sum())
        den += float(w.sum())
    return num / den if den > 0 else 0.0


def hlt_jets_quantile(samples: list[Any], q: float) -> float:
    """The rate-weighted ``q`` quantile of the tagged jets per L1-accepted event of ``samples``
    (the smallest n such that events with <= n jets carry at least a fraction q of the rate)."""
    n = (
        np.concatenate([np.asarray(s.n_jets)[s.decisions.l1_accept] for s in samples])
        if samples
        else np.zeros(0)
    )
    w = (
        np.concatenate([np.abs(s.weight / s.lumi_pb)[s.decisions.l1_accept] for s in samples])
        if samples
        else np.zeros(0)
    )
    if not len(n) or not w.sum() > 0:
        return 0.0
    order = np.argsort(n, kind="stable")
    cum = np.cumsum(w[order]) / w.sum()
    return float(n[order][min(int(np.searchsorted(cum, q - 1e-12)), len(n) - 1)])
