"""`trigkit emulate` as a library call: one request object in, a MenuResult (+ agreement) out."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from trigkit.core.errors import TrigkitError
from trigkit.emulator.budget import (
    L1_ACCEPT_HZ,
    L1_BUDGET_NS,
    BudgetTable,
    HLTBudget,
    L1Budget,
    L1RateCheck,
    bench_latencies,
    event_batch,
    hlt_calls_per_event,
    hlt_jets_quantile,
)
from trigkit.emulator.compiled import compile_menu
from trigkit.emulator.mapped_taggers import MappedFpgaScores, MappedGpuScores, is_foreign
from trigkit.emulator.nanoaod import L1_JETS, L1_SEEDS, NanoAgreement, compare_to_recorded
from trigkit.emulator.pipeline import iter_file, run_files
from trigkit.emulator.prescale_expected import PRESCALE_MODES
from trigkit.emulator.result import MenuResult, SampleEvents, SkippedFile, build_result
from trigkit.emulator.schema import Menu, load_menu
from trigkit.emulator.taggers import FpgaBundleScores, GpuBundleScores, l1_latency_cycles

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BudgetRequest:
    era: str = "run3"  # run3 | phase2: L1 budget 4 / 12.5 us, L1 accept 100 / 750 kHz
    l1_latency_cycles: int | None = None
    l1_clock_mhz: float | None = (
        None  # None: the --l1-bundle firmware clock, else DEFAULT_L1_CLOCK_MHZ
    )
    l1_overheads_ns: dict[str, float] = field(default_factory=dict)
    bench_json: Path | None = None
    #: --hlt-batch (alias --batch-size): pool events into runner batches of this size for the GPU
    #: count (adds the batch fill time to each event's latency); None: one event per call
    batch_size: int | None = None
    runner: str | None = None  # contender name in the bench JSON (fastest per jet when None)
    hlt_latency_ms: float | None = None  # explicit runner latency per batch
    hlt_overhead_ms: float = 0.0
    hlt_budget_ms: float = 500.0
    l1_accept_hz: float | None = (
        None  # L1 accept rate for the GPU count; None: the era's (100 / 750 kHz)
    )
    hlt_jets_quantile: float | None = (
        None  # jets/event quantile choosing the per-event batch; None: the mean
    )
    hlt_tagger_calls: int = 1  # tagger invocations per HLT event


@dataclass(frozen=True)
class EmulateRequest:
    menu: str | Path
    signal: tuple[Path, ...] = ()
    background: tuple[Path, ...] = ()
    nanoaod: tuple[Path, ...] = ()
    objects: str = "offline"
    l1_seeds: str = "emulated"  # NanoAOD agreement: HLT seeds from the emulated or the recorded L1
    l1_jets: str = "auto"  # NanoAOD agreement: L1 seeds read offline, derived or auto L1 jets
    inst_lumi: float = 2.0e34
    cl: float = 0.683
    workers: int | None = None
    scheduler: str | None = None
    skip_bad_files: bool = False  # with workers/scheduler: leave out (and name) unreadable files
    budget: BudgetRequest = field(default_factory=BudgetRequest)
    btag_bundle: Path | None = None  # GPU bundle scoring jets.btag (onnxruntime)
    btag_model: Path | None = None  # saved model giving its features + preprocessing
    l1_bundle: Path | None = None  # FPGA bundle scoring jets.l1_score (firmware emulation)
    l1_model: Path | None = None
    #: which jet fields feed a --btag-bundle trained elsewhere (trigkit.emulator.feature_map)
    btag_feature_map: Path | None = None
    l1_feature_map: Path | None = None  # the same for an --l1-bundle
    #: a GPU bundle of an Xbb tagger trained elsewhere scoring fatjets.xbb, and its feature map
    #: (large-R jet fields, constituents.<field>)
    xbb_bundle: Path | None = None
    xbb_feature_map: Path | None = None
    #: "counter": prescale counters (as the hardware); "expected": weight each event by its
    #: probability of surviving the prescales (smooth rates on weighted MC; prescale_expected.py)
    prescale_mode: str = "counter"


DEFAULT_L1_CLOCK_MHZ = 240.0


def tagger_sources(req: EmulateRequest) -> list:
    """Score sources of the trained taggers the request names (none: baseline stand-ins)."""
    if req.btag_model is not None and req.btag_bundle is None:
        raise TrigkitError(
            "--btag-model needs --btag-bundle (it supplies the bundle's features and preprocessing)"
        )
    if req.l1_model is not None and req.l1_bundle is None:
        raise TrigkitError(
            "--l1-model needs --l1-bundle (it supplies the bundle's features and preprocessing)"
        )
    out: list = []
    if req.l1_bundle is not None:
        out.append(_l1_source(req))
    if req.l1_feature_map is not None and req.l1_bundle is None:
        raise TrigkitError("--l1-feature-map needs --l1-bundle (it maps jet fields to its inputs)")
    if req.btag_feature_map is not None and req.btag_bundle is None:
        raise TrigkitError("--feature-map needs --btag-bundle (it maps jet fields to its inputs)")
    if req.btag_bundle is not None:
        out.append(_btag_source(req))
    if req.xbb_feature_map is not None and req.xbb_bundle is None:
        raise TrigkitError("--xbb-feature-map needs --xbb-bundle (it maps large-R jet fields)")
    if req.xbb_bundle is not None:
        out.append(_xbb_source(req))
    return out


def _xbb_source(req: EmulateRequest) -> GpuBundleScores | MappedGpuScores:
    """``fatjets.xbb`` from a gpu bundle: of a model trained elsewhere through its feature map,
    or of trigkit's own Xbb model (its features from the model the bundle carries)."""
    bundle = Path(str(req.xbb_bundle))
    kw = {"field": "xbb", "collection": "fatjets", "flag": "--xbb-bundle"}
    if req.xbb_feature_map is not None or is_foreign(bundle, "gpu"):
        return MappedGpuScores(bundle, req.xbb_feature_map, **kw)  # type: ignore[arg-type]
    return GpuBundleScores(bundle, None, model_flag=None, **kw)  # type: ignore[arg-type]


def _btag_source(req: EmulateRequest) -> GpuBundleScores | MappedGpuScores:
    """A feature-mapped source for a map or a bundle of a foreign model; else trigkit's own."""
    bundle = Path(str(req.btag_bundle))
    if req.btag_feature_map is not None or is_foreign(bundle, "gpu"):
        if req.btag_model is not None:
            raise TrigkitError("--btag-model and --feature-map exclude each other: pick one")
        return MappedGpuScores(bundle, req.btag_feature_map)
    return GpuBundleScores(bundle, req.btag_model)


def _l1_source(req: EmulateRequest) -> FpgaBundleScores | MappedFpgaScores:
    """As :func:`_btag_source`, for the L1 tagger's FPGA bundle."""
    bundle = Path(str(req.l1_bundle))
    if req.l1_feature_map is not None or is_foreign(bundle, "fpga"):
        if req.l1_model is not None:
            raise TrigkitError("--l1-model and --l1-feature-map exclude each other: pick one")
        return MappedFpgaScores(bundle, req.l1_feature_map)
    return FpgaBundleScores(bundle, req.l1_model)


def _with_l1_bundle_budget(req: EmulateRequest) -> BudgetRequest:
    """The L1 latency (and clock) from the FPGA bundle's estimate where not given explicitly."""
    b = req.budget
    if req.l1_bundle is None:
        return b
    cycles, mhz = l1_latency_cycles(Path(req.l1_bundle))
    return replace(
        b,
        l1_latency_cycles=cycles if b.l1_latency_cycles is None else b.l1_latency_cycles,
        l1_clock_mhz=mhz if b.l1_clock_mhz is None else b.l1_clock_mhz,
    )


def _hlt_latency(req: BudgetRequest) -> dict[int, tuple[float, str]] | None:
    """Batch size -> (runner latency per batch in ms, where from), checked before any event is
    read."""
    if req.era not in L1_BUDGET_NS:
        raise TrigkitError(f"unknown era '{req.era}'; valid: {', '.join(L1_BUDGET_NS)}")
    if req.batch_size is not None and req.batch_size < 1:
        raise TrigkitError(f"--hlt-batch must be >= 1, got {req.batch_size}")
    if req.l1_latency_cycles is not None and req.l1_latency_cycles < 0:
        raise TrigkitError(f"--l1-latency-cycles must be >= 0, got {req.l1_latency_cycles}")
    if req.l1_clock_mhz is not None and not req.l1_clock_mhz > 0:
        raise TrigkitError(f"--l1-clock-mhz must be > 0, got {req.l1_clock_mhz}")
    if not req.hlt_budget_ms > 0:
        raise TrigkitError(f"--hlt-budget-ms must be > 0, got {req.hlt_budget_ms}")
    if req.l1_accept_hz is not None and not (
        req.l1_accept_hz > 0 and math.isfinite(req.l1_accept_hz)
    ):
        raise TrigkitError(f"--l1-accept-khz must be > 0, got {req.l1_accept_hz / 1e3:g}")
    if req.hlt_jets_quantile is not None and not 0 < req.hlt_jets_quantile <= 1:
        raise TrigkitError(f"--hlt-jets-quantile must be in (0, 1], got {req.hlt_jets_quantile}")
    if req.hlt_tagger_calls < 1:
        raise TrigkitError(f"--hlt-tagger-calls must be >= 1, got {req.hlt_tagger_calls}")
    if req.bench_json is not None:
        lat = bench_latencies(req.bench_json, req.runner)
        if req.batch_size is not None and req.batch_size not in lat:
            who = f" for runner '{req.runner}'" if req.runner else ""
            raise TrigkitError(
                f"{req.bench_json}: no latency measured at batch size {req.batch_size}{who}; "
                f"measured: {', '.join(map(str, lat))}"
            )
        return lat
    if req.hlt_latency_ms is not None:
        if not req.hlt_latency_ms >= 0:
            raise TrigkitError(f"--hlt-latency-ms must be >= 0, got {req.hlt_latency_ms}")
        return {req.batch_size or 1: (float(req.hlt_latency_ms), "given")}
    return None


def _l1_rate_check(req: BudgetRequest, res: MenuResult) -> L1RateCheck | None:
    """The L1 OR rate vs the L1 accept rate (logged when it exceeds it); None without
    backgrounds."""
    r = res.rates.get("L1 OR")
    if r is None:
        return None
    accept = req.l1_accept_hz if req.l1_accept_hz is not None else L1_ACCEPT_HZ[req.era]
    check = L1RateCheck(r.rate_hz, r.error_hz, accept)
    if check.exceeds:
        log.warning(
            "menu %s: L1 OR rate %.4g kHz exceeds the %.4g kHz L1 accept rate (x%.3g)",
            res.menu_name,
            r.rate_hz / 1e3,
            accept / 1e3,
            check.ratio,
        )
    return check


def _budget(
    req: BudgetRequest, res: MenuResult, latency: dict[int, tuple[float, str]] | None
) -> BudgetTable | None:
    l1 = None
    if req.l1_latency_cycles is not None:
        clock = req.l1_clock_mhz if req.l1_clock_mhz is not None else DEFAULT_L1_CLOCK_MHZ
        l1 = L1Budget(
            req.l1_latency_cycles, clock, dict(req.l1_overheads_ns), L1_BUDGET_NS[req.era]
        )
    hlt = None
    if latency is not None:
        stream = (
            res.samples[len(res.signals) :] or res.samples
        )  # the backgrounds make the L1 accepts
        accept = req.l1_accept_hz if req.l1_accept_hz is not None else L1_ACCEPT_HZ[req.era]
        jets = hlt_calls_per_event(stream)
        q = req.hlt_jets_quantile
        ev_jets = jets if q is None else hlt_jets_quantile(stream, q)
        be = event_batch(latency, ev_jets)
        pooled = req.batch_size is not None
        bs = req.batch_size if pooled else be
        hlt = HLTBudget(
            jets,
            bs,
            latency[bs][0],
            req.hlt_overhead_ms,
            req.hlt_budget_ms,
            accept,
            latency_source=latency[bs][1],
            pooled=pooled,
            tagger_calls=req.hlt_tagger_calls,
            event_jets=ev_jets,
            jets_quantile=q,
            event_batch_size=be,
            event_latency_ms=latency[be][0],
            event_latency_source=latency[be][1],
        )
    l1_rate = _l1_rate_check(req, res)
    return BudgetTable(l1, hlt, l1_rate) if (l1 or hlt or l1_rate) else None


def unique_sample_names(samples: list[SampleEvents]) -> list[SampleEvents]:
    """Samples named after their file stems, with ``_2``, ``_3``... appended to repeated stems
    (``a/qcd.parquet`` and ``b/qcd.parquet``), so that tables, JSON keys and plot files stay
    apart."""
    seen: dict[str, int] = {}
    out = []
    for s in samples:
        n = seen[s.name] = seen.get(s.name, 0) + 1
        out.append(s if n == 1 else replace(s, name=f"{s.name}_{n}"))
    return out


def _run_distributed(
    req: EmulateRequest, menu, paths: list, progress
) -> tuple[list, int, tuple[SkippedFile, ...]]:
    """(samples of the good files, how many of them are signal, the files left out) from a dask
    run."""
    from trigkit.emulator.distributed import emulate_files

    run = emulate_files(
        menu,
        paths,
        workers=req.workers,
        scheduler=req.scheduler,
        progress=progress,
        skip_bad_files=req.skip_bad_files,
    )
    if not run.samples:
        raise TrigkitError(f"no readable events files: all {len(paths)} were bad")
    return run.samples, sum(i < len(req.signal) for i in run.indices), tuple(run.bad_files)


def run_emulation(
    req: EmulateRequest, progress: Callable[[str], None] | None = None
) -> tuple[MenuResult | None, NanoAgreement | None]:
    menu: Menu = load_menu(req.menu)
    if not (req.inst_lumi > 0 and math.isfinite(req.inst_lumi)):
        raise TrigkitError(
            f"--lumi must be a positive instantaneous luminosity in cm^-2 s^-1, got {req.inst_lumi}"
        )
    if not (req.signal or req.background or req.nanoaod):
        raise TrigkitError("no events: give --signal and/or --background files (or --nanoaod)")
    for p in (*req.signal, *req.background, *req.nanoaod):
        if not Path(p).is_file():
            raise TrigkitError(f"{p}: no such events file")
    if req.l1_seeds not in L1_SEEDS:
        raise TrigkitError(f"--l1-seeds must be one of {', '.join(L1_SEEDS)}, got '{req.l1_seeds}'")
    if req.l1_jets not in L1_JETS:
        raise TrigkitError(f"--l1-jets must be one of {', '.join(L1_JETS)}, got '{req.l1_jets}'")
    if req.prescale_mode not in PRESCALE_MODES:
        raise TrigkitError(
            f"--prescale-mode must be one of {', '.join(PRESCALE_MODES)}, got '{req.prescale_mode}'"
        )
    res = None
    latency = _hlt_latency(req.budget)
    sources = tagger_sources(req)
    if sources and req.nanoaod:
        raise TrigkitError(
            "--btag-bundle / --l1-bundle score generated --signal/--background events; "
            "the NanoAOD comparison uses the recorded objects"
        )
    if req.signal or req.background:
        paths = [*req.signal, *req.background]
        if sources and (req.workers is not None or req.scheduler is not None):
            raise TrigkitError(
                "--btag-bundle / --l1-bundle run in a single process; drop --workers / --scheduler"
            )
        n_sig, skipped = len(req.signal), ()
        if req.workers is not None or req.scheduler is not None:
            samples, n_sig, skipped = _run_distributed(req, menu, paths, progress)
        elif req.skip_bad_files:
            raise TrigkitError("--skip-bad-files applies to --workers / --scheduler runs")
        else:
            samples = run_files(compile_menu(menu), paths, sources, progress=progress)
        samples = unique_sample_names(samples)
        res = build_result(
            menu.name,
            samples[:n_sig],
            samples[n_sig:],
            req.inst_lumi,
            req.cl,
            prescale_mode=req.prescale_mode,
        )
        res = replace(res, budget=_budget(_with_l1_bundle_budget(req), res, latency))
        res = replace(res, skipped_files=skipped)
    agreement = None
    if req.nanoaod:
        if req.objects not in ("offline", "trigobj"):
            raise TrigkitError(f"--objects must be offline or trigobj, got '{req.objects}'")
        batches = [b for p in req.nanoaod for b in iter_file(p)]
        agreement = compare_to_recorded(
            menu,
            batches,
            req.objects,  # type: ignore[arg-type]
            req.l1_seeds,  # type: ignore[arg-type]
            req.l1_jets,  # type: ignore[arg-type]
        )
    return res, agreement
