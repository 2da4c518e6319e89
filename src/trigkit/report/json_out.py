"""MenuResult (+ agreement) -> a JSON-able dict; NaN becomes null."""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from trigkit.core.atomic import write_text
from trigkit.emulator.budget import BudgetTable
from trigkit.emulator.nanoaod import AGREE_CL, NanoAgreement
from trigkit.emulator.result import RATE_UL_CL, Curve, Efficiency, MenuResult, RateSummary
from trigkit.events.nanoaod_l1 import L1Response

SCHEMA = "trigkit.emulate/1"


def _clean(x: Any) -> Any:
    if isinstance(x, np.ndarray):
        return _clean(x.tolist())
    if isinstance(x, (np.floating, float)):
        return None if not math.isfinite(float(x)) else float(x)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    return x


def _eff(e: Efficiency) -> dict[str, Any]:
    return {
        "passed": e.passed,
        "total": e.total,
        "value": e.value,
        "low": e.low,
        "high": e.high,
        "weighted": e.weighted,
        "sum_w": e.sum_w,
        "sum_w_passed": e.sum_w_passed,
        "n_eff": e.n_eff,
    }


def _curve(c: Curve) -> dict[str, Any]:
    """Every event is in a bin: the first bin includes the underflow, the last the overflow
    (``underflow_in_first_bin`` / ``overflow_in_last_bin`` say how many); ``nonfinite`` events
    (variable NaN) are left out, so sum(total) + nonfinite = n_events."""
    return {
        "edges": c.edges,
        "passed": c.passed,
        "total": c.total,
        "value": c.value,
        "low": c.low,
        "high": c.high,
        "underflow_in_first_bin": c.underflow,
        "overflow_in_last_bin": c.overflow,
        "nonfinite": c.nonfinite,
        "weighted": c.weighted,
        "sum_w": c.sum_w,
        "sum_w_passed": c.sum_w_passed,
        "n_eff": c.n_eff,
    }


def _rate(r: RateSummary, pure: bool = True) -> dict[str, Any]:
    """Central rate and error, plus the one-sided upper limit (null unless no event passed)."""
    out = {"rate": r.rate_hz, "error": r.error_hz}
    if pure:
        out.update(pure=r.pure_hz, shared=r.shared_hz)
    out.update(upper_limit=r.upper_hz, upper_limit_cl=RATE_UL_CL)
    return out


def _budget(b: BudgetTable) -> dict[str, Any]:
    out: dict[str, Any] = {"l1": None, "hlt": None, "l1_rate": None}
    if b.l1 is not None:
        out["l1"] = {
            **asdict(b.l1),
            "tagger_ns": b.l1.tagger_ns,
            "total_ns": b.l1.total_ns,
            "fits": b.l1.fits,
        }
    if b.hlt is not None:
        h = b.hlt
        out["hlt"] = {
            **asdict(h),
            "event_calls": h.event_calls,
            "event_tagger_ms": h.event_tagger_ms,
            "fill_ms": h.fill_ms,
            "tagger_ms": h.tagger_ms,
            "total_ms": h.total_ms,
            "fits": h.fits,
            "gpu_ms_per_event": h.gpu_ms_per_event,
            "gpus_needed": h.gpus_needed,
        }
        # defaults filled in: the batch, jets and latency that made (a)
        out["hlt"].update(
            event_jets=h._event_jets,
            event_batch_size=h._event_batch,
            event_latency_ms=h._event_ms,
            event_latency_source=h.event_latency_source or h.latency_source,
        )
    if b.l1_rate is not None:
        r = b.l1_rate
        out["l1_rate"] = {**asdict(r), "ratio": r.ratio, "exceeds": r.exceeds, "verdict": r.verdict}
    return out


def response_dict(r: L1Response) -> dict[str, Any]:
    """The measured L1 response (NaN bins and the open upper edges become null)."""
    return _clean(
        {
            "pt_edges": list(r.pt_edges),
            "abs_eta_edges": list(r.eta_edges),
            "median": r.median,
            "resolution": r.resolution,
            "n_pairs": r.n_pairs,
            "overall": r.overall,
            "n_ht_objects": len(r.ht_ratio),
            "fallback": r.fallback,
        }
    )


def agreement_dict(a: NanoAgreement) -> dict[str, Any]:
    return _clean(
        {
            "source": a.source,
            "objects": a.objects,
            "l1_seeds": a.l1_seeds,
            "l1_jets": a.l1_jets,
            "l1_response": None if a.l1_response is None else response_dict(a.l1_response),
            "not_recorded": a.not_recorded,
            "paths": {
                p.name: {
                    "n_events": p.n_events,
                    "agree": p.agree,
                    "agree_interval": list(p.interval),
                    "agree_interval_cl": AGREE_CL,
                    "confusion_rec_x_emu": p.confusion,
                    "recorded_rate": p.recorded_rate,
                    "emulated_rate": p.emulated_rate,
                }
                for p in a.paths
            },
        }
    )


def result_dict(res: MenuResult, agreement: NanoAgreement | None = None) -> dict[str, Any]:
    d: dict[str, Any] = {
        "schema": SCHEMA,
        "menu": res.menu_name,
        "l1_seeds": list(res.l1_names),
        "hlt_paths": list(res.hlt_names),
        "inst_lumi_cm2s": res.inst_lumi,
        "confidence_level": res.cl,
        "prescale_mode": res.prescale_mode,
        "signal": [
            {
                "name": s.name,
                "n_events": s.n_events,
                "efficiency": {k: _eff(e) for k, e in s.efficiency.items()},
                "weighted": s.weighted,
                "curves": {
                    var: {p: _curve(c) for p, c in cs.items()} for var, cs in s.curves.items()
                },
            }
            for s in res.signals
        ],
        "rates_hz": {k: _rate(r) for k, r in res.rates.items()},
        "overlap": {"paths": list(res.hlt_names), "matrix": res.overlap},
        "rates_by_sample_hz": {
            name: {k: _rate(r, pure=False) for k, r in rates.items()}
            for name, rates in res.sample_rates.items()
        },
        "samples": [
            {
                "name": s.name,
                "process": s.process,
                "n_events": len(s),
                "sum_weights": float(np.sum(s.weight)),
                "scores": dict(s.scores),
                "l1_objects": s.l1_objects,
                "l1_tagger": s.l1_tagger,
            }
            for s in res.samples
        ],
        "budget": _budget(res.budget) if isinstance(res.budget, BudgetTable) else None,
        "skipped_files": [{"path": f.path, "reason": f.reason} for f in res.skipped_files],
        "nanoaod": agreement_dict(agreement) if agreement is not None else None,
    }
    return _clean(d)


def write_json(path: str | Path, data: dict[str, Any]) -> None:
    write_text(path, json.dumps(data, indent=2, allow_nan=False) + "\n")
