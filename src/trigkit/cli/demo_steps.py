"""`trigkit demo`: the whole chain on generated events, into one output folder.

generate hh4b / qcd / ttbar -> train the b-tagger, the Xbb tagger and the L1 tagger -> prune +
quantize the L1 tagger -> compile it for the FPGA (hls4ml C simulation, bit-exact check) and the
b-tagger for the GPU (ONNX, onnxruntime) -> score every jet with the compiled artifacts -> emulate
the Run-3-like HH->4b menu -> tables, plots and a Markdown report.

Every stage calls the same library functions as the corresponding CLI command; the demo only
chooses sizes that fit in <= 10 minutes on 2 cores.

Events come from the Pythia engine by default (cached by config hash, so a rerun skips
generation) or from the numba toy (``engine="fast"``), which every output labels as a toy.
Pythia's QCD events carry weights (its cross section and the pT-hat bias): the emulation uses
them for rates; the taggers train on unweighted jets with balanced classes (:data:`TRAINING`).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import awkward as ak
import numpy as np

from trigkit.core.atomic import write_text
from trigkit.core.cputime import cpu_seconds
from trigkit.events.batch import EventBatch
from trigkit.events.samples import SampleSpec, engine_label

log = logging.getLogger(__name__)

PROCESSES = ("hh4b", "qcd", "ttbar")
TRAINING = (
    "taggers train on unweighted jets with balanced classes (event weights describe how often "
    "an event occurs, not what a jet looks like); rates use the event weights"
)


# Default event counts per engine. Pythia's fit the whole demo in <= 10 min on 2 cores with a
# cold cache (pool included); the toy's are as before.
DEFAULT_EVENTS = {
    "pythia": {"hh4b": 3_000, "qcd": 5_000, "ttbar": 1_500},
    "fast": {"hh4b": 40_000, "qcd": 60_000, "ttbar": 20_000},
}


@dataclass(frozen=True)
class DemoConfig:
    """Sizes and switches of one demo run.

    engine     ``pythia`` (default) or ``fast`` (the toy: every output says so)
    mu         Pythia: mean pileup interactions; pool_size: its minimum-bias pool
    workers    Pythia: generator processes (the events do not depend on it)
    """

    out: Path
    events: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_EVENTS["pythia"]))
    engine: str = "pythia"
    mu: float = 60.0
    pool_size: int = 2000
    workers: int = 2
    seed: int = 1
    epochs: int = 8
    max_jets: int = 60_000
    prune: float = 0.75
    qat_bits: int = 8
    qat_epochs: int = 3
    menu: str = "run3_hh4b"
    fpga: bool = True
    gpu: bool = True


@dataclass
class DemoLog:
    """Stage timings and the facts the report quotes."""

    stages: list[tuple[str, float]] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # CPU seconds per stage, children included
    facts: dict[str, object] = field(default_factory=dict)
    sections: list[str] = field(default_factory=list)


Say = Callable[[str], None]


def _stage(log_: DemoLog, say: Say, name: str) -> Callable[[], None]:
    say(f"[bold cyan]== {name}[/]")
    t0, c0 = time.perf_counter(), cpu_seconds()

    def done() -> None:
        dt, cpu = time.perf_counter() - t0, cpu_seconds() - c0
        log_.stages.append((name, dt))
        log_.cpu.append(cpu)
        say(f"   {name}: {dt:.1f} s (CPU {cpu:.1f} s)")

    return done


def sample_specs(cfg: DemoConfig) -> list[SampleSpec]:
    """The demo's samples: one per process, seeds ``seed``, ``seed + 1``, ..."""
    return [
        SampleSpec(proc, cfg.events[proc], cfg.seed + i, cfg.engine, cfg.mu, cfg.pool_size)
        for i, proc in enumerate(PROCESSES)
    ]


def generate_samples(cfg: DemoConfig, say: Say, dl: DemoLog | None = None) -> dict[str, Path]:
    """Generate (Pythia: or reuse from its cache) the samples into ``out/events``."""
    from trigkit.events.sample_progress import generate_with_progress
    from trigkit.events.sources import open_events
    from trigkit.events.summary import summarize

    specs = sample_specs(cfg)
    outs = [cfg.out / "events" / f"{s.process}.parquet" for s in specs]
    made = generate_with_progress(specs, outs, cfg.workers)
    facts = []
    for sample in made:
        s = summarize(open_events(sample.path))
        how = "from the cache" if sample.cache_hit else "generated"
        say(
            f"   {sample.spec.process}: {s.n_events} events ({how}), "
            f"{s.mean_jets:.2f} jets/event -> {sample.path}"
        )
        facts.append(
            {"process": sample.spec.process, "events": s.n_events, "cache_hit": sample.cache_hit}
        )
    if dl is not None:
        dl.facts["samples"] = facts
    return {sample.spec.process: sample.path for sample in made}


def train_taggers(cfg: DemoConfig, samples: dict[str, EventBatch], say: Say) -> dict[str, Path]:
    from trigkit.models.training import train

    jobs = {
        "btag-deepsets": [samples["hh4b"], samples["qcd"], samples["ttbar"]],
        "xbb-pfn": [samples["hh4b"], samples["qcd"]],
        "l1-mlp": [samples["hh4b"], samples["qcd"], samples["ttbar"]],
    }
    paths = {}
    for name, events in jobs.items():
        model = train(
            name, events, seed=cfg.seed, epochs=cfg.epochs, max_jets=cfg.max_jets, progress=True
        )
        path = model.save(cfg.out / "models" / f"{name}.pt")
        paths[name] = path
        say(f"   {name}: {_metrics_line(model.metrics)}")
    return paths


def _metrics_line(metrics: dict | None) -> str:
    """One line: AUC and rejection at 70 % of the model vs its first baseline (validation jets)."""
    if not metrics:
        return "no validation metrics"
    model, base = metrics["model"], (metrics.get("baselines") or [None])[0]
    line = (
        f"{metrics['signal']} vs {metrics['background']}: AUC "
        f"{model['auc']:.4f}, 1/eps_bkg@70% {_rej(model)}"
    )
    if base:
        line += f" (baseline {base['name']}: AUC {base['auc']:.4f}, {_rej(base)})"
    return line


def _rej(row: dict) -> str:
    """Rejection at 70 %; when no background object passes, the bound '>N' (N objects)."""
    r = row["rejection"].get("0.7", float("nan"))
    return f">{row['n_background']}" if r == float("inf") else f"{r:.1f}"


def _with_object_field(objs: ak.Array, name: str, flat: np.ndarray) -> ak.Array:
    return ak.with_field(objs, ak.unflatten(flat.astype(np.float32), ak.num(objs, axis=1)), name)


def score_objects(
    batch: EventBatch, fs, scores: np.ndarray, collection: str, name: str
) -> EventBatch:
    """Write per-object ``scores`` (rows of the FeatureSet ``fs``) into
    ``batch.<collection>.<name>`` (``collection`` ``"l1jets"`` for an L1 tagger fed L1 jets).

    Objects the tagger did not see (e.g. unknown flavour) get NaN, which never passes a cut (as in
    :mod:`trigkit.emulator.taggers`).
    """
    from dataclasses import replace

    objs = batch.objects(collection)
    flat = np.full(int(ak.sum(ak.num(objs, axis=1))), np.nan, dtype=np.float32)
    flat[fs.flat_index(batch, collection)] = scores
    return replace(batch, **{collection: _with_object_field(objs, name, flat)})


def make_scorer(
    models: dict[str, Path], gpu_bundle: Path | None, fpga_bundle: Path | None
) -> Callable[[EventBatch], EventBatch]:
    """Score jets with the compiled artifacts, through the same score sources as
    ``trigkit emulate --btag-bundle/--l1-bundle``: b-tag from the GPU bundle (onnxruntime), L1
    from the bit-exact firmware emulation of the FPGA bundle. Xbb (and a skipped target) come
    from the torch model."""
    from trigkit.emulator.scores import attach_scores
    from trigkit.emulator.taggers import FpgaBundleScores, GpuBundleScores
    from trigkit.models.saved import load_model

    sources = []
    torch_taggers = [(load_model(models["xbb-pfn"]), "fatjets", "xbb")]
    if gpu_bundle is not None:
        sources.append(GpuBundleScores(gpu_bundle))
    else:
        torch_taggers.append((load_model(models["btag-deepsets"]), "jets", "btag"))
    if fpga_bundle is not None:
        sources.append(FpgaBundleScores(fpga_bundle))
    else:
        torch_taggers.append((load_model(models["l1-mlp"]), "jets", "l1_score"))

    def score(batch: EventBatch) -> EventBatch:
        batch = attach_scores(batch, sources)
        for model, collection, name in torch_taggers:
            fs = model.features(batch)
            coll = fs.objects if collection == "jets" else collection  # l1jets: L1 tracks
            batch = score_objects(batch, fs, model.predict(fs)[:, 0], coll, name)
        return batch

    return score


def run_demo(cfg: DemoConfig, say: Say) -> DemoLog:
    """Run every stage; returns timings and facts (also written as ``demo.json``)."""
    from trigkit.emulator.schema import load_menu
    from trigkit.events.parquet_io import read_parquet, write_parquet

    load_menu(cfg.menu)  # a bad menu fails now, not after minutes of training
    cfg.out.mkdir(parents=True, exist_ok=True)
    dl = DemoLog()
    dl.facts["engine"] = {"name": cfg.engine, "label": engine_label(cfg.engine)}
    dl.facts["training"] = TRAINING
    if cfg.engine == "pythia":
        dl.facts["engine"].update(mu=cfg.mu, pool_size=cfg.pool_size)
    say(f"   events: {cfg.engine} engine ({engine_label(cfg.engine)})")
    done = _stage(dl, say, "generate events")
    paths = generate_samples(cfg, say, dl)
    samples = {p: read_parquet(path) for p, path in paths.items()}
    done()

    done = _stage(dl, say, "train taggers")
    models = train_taggers(cfg, samples, say)
    done()

    done = _stage(dl, say, f"prune {cfg.prune:.0%} + {cfg.qat_bits}-bit QAT of the L1 tagger")
    models["l1-mlp"] = compress_l1(cfg, models["l1-mlp"], samples, say, dl)
    done()

    fpga_bundle = gpu_bundle = None
    if cfg.fpga:
        done = _stage(dl, say, "compile L1 tagger for the FPGA (hls4ml C simulation)")
        fpga_bundle = compile_fpga_bundle(cfg, models["l1-mlp"], samples, say, dl)
        done()
    if cfg.gpu:
        done = _stage(dl, say, "compile b-tagger for the GPU (ONNX, onnxruntime)")
        gpu_bundle = compile_gpu_bundle(cfg, models["btag-deepsets"], say, dl)
        done()

    done = _stage(dl, say, "score jets with the compiled taggers")
    score = make_scorer(models, gpu_bundle, fpga_bundle)
    scored = {}
    for proc, batch in samples.items():
        batch = score(batch)
        path = cfg.out / "events" / "scored" / f"{proc}.parquet"
        write_parquet([batch], path)
        scored[proc] = path
    done()

    done = _stage(dl, say, f"emulate menu {cfg.menu}")
    emulate_menu(cfg, scored, fpga_bundle, gpu_bundle, say, dl)
    done()
    dl.facts["stage_cpu_s"] = dict(zip((n for n, _ in dl.stages), dl.cpu, strict=True))
    dl.facts["loadavg_at_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    record = {"engine": dl.facts["engine"], "stages": dl.stages, "facts": dl.facts}
    write_text(cfg.out / "demo.json", json.dumps(record, indent=2, default=str))
    write_markdown(cfg, dl)
    return dl


def compress_l1(
    cfg: DemoConfig, model_path: Path, samples: dict[str, EventBatch], say: Say, dl: DemoLog
) -> Path:
    from trigkit.compile.compress import CompressConfig, QATOptions, compress
    from trigkit.compile.prune import PruningSchedule
    from trigkit.models.saved import load_model
    from trigkit.models.training import features_of, split

    model = load_model(model_path)
    fs = features_of(model.name, list(samples.values()), None, cfg.max_jets, cfg.seed)
    tr, va = split(fs, 0.2, cfg.seed)
    conf = CompressConfig(
        prune=PruningSchedule(target_sparsity=cfg.prune, steps=3, finetune_epochs=1),
        qat=QATOptions(bits=cfg.qat_bits, epochs=cfg.qat_epochs),
        seed=cfg.seed,
    )
    res = compress(model, tr, va, conf)
    for s in res.stages:
        say(
            f"   {s.stage:>7}: AUC {s.auc:.4f}  accuracy {s.accuracy:.4f}  "
            f"non-zero params {s.nonzero_params}/{s.n_params}"
        )
    dl.facts["l1_compression"] = [s.__dict__ for s in res.stages]
    return res.model.save(cfg.out / "models" / "l1-mlp-compressed.pt")


def compile_fpga_bundle(
    cfg: DemoConfig, model_path: Path, samples: dict[str, EventBatch], say: Say, dl: DemoLog
) -> Path:
    from trigkit.compile.targets.fpga import compile_fpga
    from trigkit.firmware.fpga_report import build_fpga_report
    from trigkit.models.saved import load_model

    model = load_model(model_path)
    fs = model.features(samples["ttbar"])  # labelled jets of a sample the L1 tagger saw least of
    (calib,) = model.model_inputs(fs)
    out = cfg.out / "bundles" / "l1-fpga"
    bundle = compile_fpga(
        model_path, out, calib=np.asarray(calib)[:20_000], labels=fs.labels[:20_000]
    )
    rep = build_fpga_report(bundle, budget_ns=100.0)
    dl.facts["fpga_report"] = rep.to_json()
    say(f"   firmware: {rep.verdict()}")
    info = bundle.manifest.target_info
    say(
        f"   {out}: {info.get('reference_rows')} reference inputs, "
        f"{info.get('reference_mismatches')} mismatches between the numba "
        "emulation and hls4ml's C simulation"
    )
    return out


def compile_gpu_bundle(cfg: DemoConfig, model_path: Path, say: Say, dl: DemoLog) -> Path:
    from trigkit.compile.targets.gpu import compile_gpu

    out = cfg.out / "bundles" / "btag-gpu"
    bundle = compile_gpu(model_path, out, precision="fp32", engine="auto")
    say(
        f"   {out}: {', '.join(bundle.manifest.files)}; tolerance "
        f"{bundle.manifest.reference_tolerance:g}"
    )
    dl.facts["gpu_bundle"] = {
        "files": list(bundle.manifest.files),
        "tolerance": bundle.manifest.reference_tolerance,
    }
    return out


def measure_runner_ms(bundle: Path, batch: int = 64, repeats: int = 200) -> tuple[int, float]:
    """p50 wall time (ms) of one onnxruntime call on ``batch`` reference jets, after warm-up."""
    from trigkit.bundle.manifest import load_bundle
    from trigkit.runtime import load_runner

    ref_in, _ = load_bundle(bundle, target="gpu").reference()
    inputs = {
        k: np.ascontiguousarray(np.resize(v, (batch, *v.shape[1:]))) for k, v in ref_in.items()
    }
    times = []
    with load_runner(bundle, backend="onnxruntime") as runner:
        for i in range(repeats + 20):
            t0 = time.perf_counter()
            runner.infer(inputs)
            if i >= 20:
                times.append(time.perf_counter() - t0)
    return batch, float(np.median(times) * 1e3)


def emulate_menu(
    cfg: DemoConfig,
    scored: dict[str, Path],
    fpga_bundle: Path | None,
    gpu_bundle: Path | None,
    say: Say,
    dl: DemoLog,
) -> None:
    from trigkit.emulator.api import BudgetRequest, EmulateRequest, run_emulation
    from trigkit.report.write import write_report

    cycles, clock_mhz = None, 200.0
    if fpga_bundle is not None:
        from trigkit.emulator.taggers import l1_latency_cycles

        cycles, clock_mhz = l1_latency_cycles(fpga_bundle)
    hlt = {}
    if gpu_bundle is not None:
        batch, ms = measure_runner_ms(gpu_bundle)
        hlt = {"hlt_latency_ms": ms, "batch_size": batch}
        say(
            f"   b-tagger runner latency: {ms:.3f} ms per batch of {batch} jets "
            "(onnxruntime, this CPU, p50)"
        )
        dl.facts["hlt_runner_latency_ms"] = {
            "batch": batch,
            "p50_ms": ms,
            "backend": "onnxruntime (CPU)",
        }
    req = EmulateRequest(
        menu=cfg.menu,
        signal=(scored["hh4b"],),
        background=(scored["qcd"], scored["ttbar"]),
        budget=BudgetRequest(l1_latency_cycles=cycles, l1_clock_mhz=clock_mhz, **hlt),
    )
    res, agreement = run_emulation(req)
    write_report(cfg.out / "emulation", res, agreement)
    _label_emulation(cfg.out / "emulation", cfg.engine)
    dl.sections.append((cfg.out / "emulation" / "result.md").read_text())


def _label_emulation(folder: Path, engine: str) -> None:
    """Name the event engine in the emulation report (result.md and result.json)."""
    label = engine_label(engine)
    md = folder / "result.md"
    title, _, rest = md.read_text().partition("\n\n")
    write_text(md, f"{title}\n\nEvents: `{engine}` engine, {label}.\n\n{rest}")
    js = folder / "result.json"
    data = json.loads(js.read_text())
    data["events_engine"] = {"name": engine, "label": label}
    write_text(js, json.dumps(data, indent=2, default=str))


def write_markdown(cfg: DemoConfig, dl: DemoLog) -> Path:
    eng = dl.facts.get("engine") or {"name": cfg.engine, "label": engine_label(cfg.engine)}
    lines = ["# trigkit demo", "", f"Events: `{eng['name']}` engine, {eng['label']}."]
    if cfg.engine == "fast":
        lines += ["", f"**{engine_label(cfg.engine)}**: every number below is from the toy."]
    lines += ["", f"Training: {TRAINING}."]
    lines += ["", "| stage | seconds | CPU seconds |", "|---|---|---|"]
    cpu = dl.cpu if len(dl.cpu) == len(dl.stages) else [float("nan")] * len(dl.stages)
    rows = zip(dl.stages, cpu, strict=True)
    lines += [f"| {name} | {dt:.1f} | {c:.1f} |" for (name, dt), c in rows]
    lines += _compression_md(dl.facts.get("l1_compression")) + _fpga_md(dl.facts.get("fpga_report"))
    lines += ["", "Machine-readable facts: `demo.json`.", ""]
    lines += dl.sections
    path = cfg.out / "report.md"
    write_text(path, "\n".join(lines))
    return path


def _compression_md(stages: list[dict] | None) -> list[str]:
    if not stages:
        return []
    rows = [
        f"| {st['stage']} | {st['auc']:.4f} | {st['accuracy']:.4f} | "
        f"{st['nonzero_params']}/{st['n_params']} |"
        for st in stages
    ]
    return [
        "",
        "## L1 tagger compression (validation jets)",
        "",
        "| stage | AUC | accuracy | non-zero params |",
        "|---|---|---|---|",
        *rows,
    ]


def _fpga_md(rep: dict | None) -> list[str]:
    if not rep:
        return []
    acc = rep.get("accuracy") or {}
    lat = rep["latency"][0] if rep.get("latency") else {}
    res = rep["resources"][0] if rep.get("resources") else {}
    return [
        "",
        f"## L1 tagger firmware ({rep['backend']}, {rep['part']}, "
        f"{rep['clock_period_ns']} ns clock)",
        "",
        "| quantity | value |",
        "|---|---|",
        f"| float accuracy (labelled reference jets) | {_num(acc.get('float_accuracy'))} |",
        f"| firmware accuracy | {_num(acc.get('firmware_accuracy'))} |",
        "| emulator vs stored C-simulation outputs | "
        f"{acc.get('emulator_mismatches')} mismatches |",
        f"| latency ({lat.get('source')}) | {lat.get('cycles')} cycles = "
        f"{lat.get('ns')} ns, II {lat.get('ii')} |",
        f"| resources ({res.get('source')}) | LUT {res.get('lut')}, FF "
        f"{res.get('ff')}, DSP {res.get('dsp')} |",
        f"| verdict | {rep.get('verdict')} |",
    ]


def _num(v: object) -> str:
    return f"{v:.4f}" if isinstance(v, float) else "n/a"
