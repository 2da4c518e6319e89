"""Latency budget table: L1 firmware latency vs the L1 budget, HLT GPU time vs its budget.

L1: ``latency_cycles / clock_mhz`` (ns) of the tagger firmware plus configurable fixed overheads
(links, trigger primitives, global trigger...) against 4 us (Run 3) or 12.5 us (Phase-2).

HLT: per-event GPU time = tagger calls per event x (runner latency at batch size B) / B, the
latency taken from a `trigkit bench gpu` JSON or given explicitly, plus a fixed per-event
overhead, against a per-event budget; GPUs needed to sustain an L1 accept rate R:
``ceil(R x gpu_time_per_event / max_utilisation)``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trigkit.errors import TrigkitError

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
        rows = [(f"tagger firmware ({self.latency_cycles} cycles @ {self.clock_mhz:g} MHz)", self.tagger_ns)]
        rows += list(self.overheads_ns.items())
        return rows


@dataclass(frozen=True)
class HLTBudget:
    calls_per_event: float  # tagger inferences (jets scored) per HLT-processed event
    batch_size: int
    batch_latency_ms: float  # runner latency for one batch of ``batch_size``
    overhead_ms: float = 0.0
    budget_ms: float = 500.0
    l1_accept_hz: float = L1_ACCEPT_HZ["run3"]
    max_utilisation: float = 0.8
    latency_source: str = "user"

    @property
    def gpu_ms_per_event(self) -> float:
        return self.calls_per_event * self.batch_latency_ms / self.batch_size

    @property
    def total_ms(self) -> float:
        return self.gpu_ms_per_event + self.overhead_ms

    @property
    def fits(self) -> bool:
        return self.total_ms <= self.budget_ms

    @property
    def gpus_needed(self) -> int:
        load = self.l1_accept_hz * self.gpu_ms_per_event * 1e-3
        return max(1, math.ceil(load / self.max_utilisation - 1e-12))


@dataclass(frozen=True)
class BudgetTable:
    l1: L1Budget | None
    hlt: HLTBudget | None


_BATCH_KEYS = ("batch_size", "batch")
_LAT_KEYS = {"p50_us": 1e-3, "median_us": 1e-3, "mean_us": 1e-3,
             "latency_ms": 1.0, "median_ms": 1.0, "p50_ms": 1.0, "mean_ms": 1.0}
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


def latency_from_bench(path: str | Path, batch_size: int | None = None, backend: str | None = None) -> tuple[int, float, str]:
    """(batch size, latency in ms, description) from a `trigkit bench gpu` JSON.

    Records are objects (anywhere in the file, e.g. its ``points`` list) with a batch size
    (``batch`` / ``batch_size``), a latency (``p50_us``, ``median_us``, ``mean_us``, ``latency_ms``,
    ``median_ms``, ``p50_ms`` or ``mean_ms``) and a runner name (``contender`` / ``backend``).
    Among the records of ``backend`` (all when None) at ``batch_size`` (when None: the largest
    batch measured), the one with the lowest latency per jet is used.
    """
    p = Path(path)
    try:
        data = json.loads(p.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise TrigkitError(f"{p}: cannot read benchmark JSON ({exc})") from None
    recs = [r for r in _latency_records(data) if backend is None or _name(r) == backend]
    if not recs:
        names = sorted({_name(r) for r in _latency_records(data)})
        raise TrigkitError(
            f"{p}: no latency records" + (f" for runner '{backend}'; present: {', '.join(names)}" if backend else
                                          " (objects with batch/batch_size and p50_us/latency_ms...)")
        )
    if batch_size is not None:
        measured = sorted({b for r in recs if (b := _batch(r)) is not None})
        recs = [r for r in recs if _batch(r) == batch_size]
        if not recs:
            who = f" for runner '{backend}'" if backend else ""
            raise TrigkitError(f"{p}: no latency measured at batch size {batch_size}{who}; "
                               f"measured: {', '.join(map(str, measured))}")
    else:
        top = max(_batch(r) or 0 for r in recs)
        recs = [r for r in recs if _batch(r) == top]
    rec = min(recs, key=lambda r: (_record_ms(r) or math.inf) / (_batch(r) or 1))
    bs, ms = int(_batch(rec) or 1), float(_record_ms(rec) or 0.0)
    return bs, ms, f"{p.name}: {_name(rec)} at batch {bs}"


def hlt_calls_per_event(samples: list[Any]) -> float:
    """Tagger calls per HLT-processed event: the rate-weighted mean number of offline jets
    (pt > 30 GeV, |eta| < 2.5) in the L1-accepted events of ``samples`` (the caller passes the
    background samples, which make up the L1 accept stream; the signal ones when there are none)."""
    import numpy as np

    num = den = 0.0
    for s in samples:
        acc = s.decisions.l1_accept
        w = np.abs(s.weight / s.lumi_pb)[acc]
        num += float((w * s.n_jets[acc]).sum())
        den += float(w.sum())
    return num / den if den > 0 else 0.0
