"""`trigkit emulate` as a library call: one request object in, a MenuResult (+ agreement) out."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from trigkit.emulator.budget import (
    L1_ACCEPT_HZ,
    L1_BUDGET_NS,
    BudgetTable,
    HLTBudget,
    L1Budget,
    hlt_calls_per_event,
    latency_from_bench,
)
from trigkit.emulator.compiled import compile_menu
from trigkit.emulator.nanoaod import NanoAgreement, compare_to_recorded
from trigkit.emulator.pipeline import iter_file, run_files
from trigkit.emulator.result import MenuResult, SampleEvents, build_result
from trigkit.emulator.schema import Menu, load_menu
from trigkit.errors import TrigkitError


@dataclass(frozen=True)
class BudgetRequest:
    era: str = "run3"  # run3 | phase2: L1 budget 4 / 12.5 us, L1 accept 100 / 750 kHz
    l1_latency_cycles: int | None = None
    l1_clock_mhz: float | None = None  # None: the --l1-bundle firmware clock, else DEFAULT_L1_CLOCK_MHZ
    l1_overheads_ns: dict[str, float] = field(default_factory=dict)
    bench_json: Path | None = None
    batch_size: int | None = None
    runner: str | None = None  # contender name in the bench JSON (fastest per jet when None)
    hlt_latency_ms: float | None = None  # explicit runner latency per batch
    hlt_overhead_ms: float = 0.0
    hlt_budget_ms: float = 500.0
    l1_accept_hz: float | None = None  # L1 accept rate for the GPU count; None: the era's (100 / 750 kHz)


@dataclass(frozen=True)
class EmulateRequest:
    menu: str | Path
    signal: tuple[Path, ...] = ()
    background: tuple[Path, ...] = ()
    nanoaod: tuple[Path, ...] = ()
    objects: str = "offline"
    inst_lumi: float = 2.0e34
    cl: float = 0.683
    workers: int | None = None
    scheduler: str | None = None
    budget: BudgetRequest = field(default_factory=BudgetRequest)
    btag_bundle: Path | None = None  # GPU bundle scoring jets.btag (onnxruntime)
    btag_model: Path | None = None  # saved model giving its features + preprocessing
    l1_bundle: Path | None = None  # FPGA bundle scoring jets.l1_score (firmware emulation)
    l1_model: Path | None = None


DEFAULT_L1_CLOCK_MHZ = 240.0


def tagger_sources(req: EmulateRequest) -> list:
    """Score sources of the trained taggers the request names (none: baseline stand-ins)."""
    from trigkit.emulator.taggers import FpgaBundleScores, GpuBundleScores

    if req.btag_model is not None and req.btag_bundle is None:
        raise TrigkitError("--btag-model needs --btag-bundle (it supplies the bundle's features and preprocessing)")
    if req.l1_model is not None and req.l1_bundle is None:
        raise TrigkitError("--l1-model needs --l1-bundle (it supplies the bundle's features and preprocessing)")
    out: list = []
    if req.l1_bundle is not None:
        out.append(FpgaBundleScores(Path(req.l1_bundle), req.l1_model))
    if req.btag_bundle is not None:
        out.append(GpuBundleScores(Path(req.btag_bundle), req.btag_model))
    return out


def _with_l1_bundle_budget(req: EmulateRequest) -> BudgetRequest:
    """The L1 latency (and clock) from the FPGA bundle's estimate where not given explicitly."""
    b = req.budget
    if req.l1_bundle is None:
        return b
    from trigkit.emulator.taggers import l1_latency_cycles

    cycles, mhz = l1_latency_cycles(Path(req.l1_bundle))
    return replace(b, l1_latency_cycles=cycles if b.l1_latency_cycles is None else b.l1_latency_cycles,
                   l1_clock_mhz=mhz if b.l1_clock_mhz is None else b.l1_clock_mhz)


def _hlt_latency(req: BudgetRequest) -> tuple[int, float, str] | None:
    """(batch size, runner latency per batch in ms, where from), checked before any event is read."""
    if req.era not in L1_BUDGET_NS:
        raise TrigkitError(f"unknown era '{req.era}'; valid: {', '.join(L1_BUDGET_NS)}")
    if req.batch_size is not None and req.batch_size < 1:
        raise TrigkitError(f"--batch-size must be >= 1, got {req.batch_size}")
    if req.l1_latency_cycles is not None and req.l1_latency_cycles < 0:
        raise TrigkitError(f"--l1-latency-cycles must be >= 0, got {req.l1_latency_cycles}")
    if req.l1_clock_mhz is not None and not req.l1_clock_mhz > 0:
        raise TrigkitError(f"--l1-clock-mhz must be > 0, got {req.l1_clock_mhz}")
    if not req.hlt_budget_ms > 0:
        raise TrigkitError(f"--hlt-budget-ms must be > 0, got {req.hlt_budget_ms}")
    if req.l1_accept_hz is not None and not (req.l1_accept_hz > 0 and math.isfinite(req.l1_accept_hz)):
        raise TrigkitError(f"--l1-accept-khz must be > 0, got {req.l1_accept_hz / 1e3:g}")
    if req.bench_json is not None:
        return latency_from_bench(req.bench_json, req.batch_size, req.runner)
    if req.hlt_latency_ms is not None:
        if not req.hlt_latency_ms >= 0:
            raise TrigkitError(f"--hlt-latency-ms must be >= 0, got {req.hlt_latency_ms}")
        return req.batch_size or 1, float(req.hlt_latency_ms), "given"
    return None


def _budget(req: BudgetRequest, res: MenuResult, latency: tuple[int, float, str] | None) -> BudgetTable | None:
    l1 = None
    if req.l1_latency_cycles is not None:
        clock = req.l1_clock_mhz if req.l1_clock_mhz is not None else DEFAULT_L1_CLOCK_MHZ
        l1 = L1Budget(req.l1_latency_cycles, clock, dict(req.l1_overheads_ns), L1_BUDGET_NS[req.era])
    hlt = None
    if latency is not None:
        bs, ms, src = latency
        stream = res.samples[len(res.signals):] or res.samples  # the backgrounds make the L1 accepts
        accept = req.l1_accept_hz if req.l1_accept_hz is not None else L1_ACCEPT_HZ[req.era]
        hlt = HLTBudget(hlt_calls_per_event(stream), bs, ms, req.hlt_overhead_ms, req.hlt_budget_ms,
                        accept, latency_source=src)
    return BudgetTable(l1, hlt) if (l1 or hlt) else None


def unique_sample_names(samples: list[SampleEvents]) -> list[SampleEvents]:
    """Samples named after their file stems, with ``_2``, ``_3``... appended to repeated stems
    (``a/qcd.parquet`` and ``b/qcd.parquet``), so that tables, JSON keys and plot files stay apart."""
    seen: dict[str, int] = {}
    out = []
    for s in samples:
        n = seen[s.name] = seen.get(s.name, 0) + 1
        out.append(s if n == 1 else replace(s, name=f"{s.name}_{n}"))
    return out


def run_emulation(req: EmulateRequest, progress: Callable[[str], None] | None = None) -> tuple[MenuResult | None, NanoAgreement | None]:
    menu: Menu = load_menu(req.menu)
    if not (req.inst_lumi > 0 and math.isfinite(req.inst_lumi)):
        raise TrigkitError(f"--lumi must be a positive instantaneous luminosity in cm^-2 s^-1, got {req.inst_lumi}")
    if not (req.signal or req.background or req.nanoaod):
        raise TrigkitError("no events: give --signal and/or --background files (or --nanoaod)")
    for p in (*req.signal, *req.background, *req.nanoaod):
        if not Path(p).is_file():
            raise TrigkitError(f"{p}: no such events file")
    res = None
    latency = _hlt_latency(req.budget)
    sources = tagger_sources(req)
    if sources and req.nanoaod:
        raise TrigkitError("--btag-bundle / --l1-bundle score generated --signal/--background events; "
                           "the NanoAOD comparison uses the recorded objects")
    if req.signal or req.background:
        paths = [*req.signal, *req.background]
        if sources and (req.workers is not None or req.scheduler is not None):
            raise TrigkitError("--btag-bundle / --l1-bundle run in a single process; drop --workers / --scheduler")
        if req.workers is not None or req.scheduler is not None:
            from trigkit.emulator.distributed import run_files_distributed

            samples = run_files_distributed(menu, paths, workers=req.workers, scheduler=req.scheduler, progress=progress)
        else:
            samples = run_files(compile_menu(menu), paths, sources, progress=progress)
        samples = unique_sample_names(samples)
        n_sig = len(req.signal)
        res = build_result(menu.name, samples[:n_sig], samples[n_sig:], req.inst_lumi, req.cl)
        res = replace(res, budget=_budget(_with_l1_bundle_budget(req), res, latency))
    agreement = None
    if req.nanoaod:
        if req.objects not in ("offline", "trigobj"):
            raise TrigkitError(f"--objects must be offline or trigobj, got '{req.objects}'")
        batches = [b for p in req.nanoaod for b in iter_file(p)]
        agreement = compare_to_recorded(menu, batches, req.objects)  # type: ignore[arg-type]
    return res, agreement
