"""`trigkit bench gpu`: latency / throughput of the b-tagger over a batch sweep, every backend.

Per (contender, batch): warm-up calls, then ``repeats`` timed calls (fewer at huge batches when
one call is slow: each point gets at most ``budget_s`` seconds but never fewer than
``min_repeats`` calls - the JSON records the count used). Each call is end to end (host ->
device copy, network, device -> host copy, synchronize), timed with ``time.perf_counter`` around
the synchronized call; p50 / p99 in microseconds and throughput = batch / p50. Separately, the
pure host->device and device->host copy times of the fp32 and the packed inputs are measured
with CUDA events. Before timing, every contender's output on the check rows is compared with
onnxruntime float32 (tolerance per precision); a contender that disagrees (or fails) is not
timed and is listed with the reason under ``failed_contenders``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import typer

log = logging.getLogger(__name__)

DEFAULT_BATCHES = (1, 16, 256, 4096, 65536)
AGREE_TOL = {"fp32": 1e-4, "fp16": 1e-2, "bf16": 5e-2}
GOAL_BATCH1_US = 20.0  # latency goal on an H100 at batch 1, end to end incl. copies
GOAL_JETS_PER_S = 150e6


@dataclass(frozen=True)
class _Spec:
    """Duck-typed input spec (name/shape/dtype) for machines without pydantic."""

    name: str
    shape: tuple[int, ...]
    dtype: str


def _version(module: str) -> str:
    try:
        return str(__import__(module).__version__)
    except Exception as exc:  # noqa: BLE001
        return f"unavailable ({type(exc).__name__})"


def _environment() -> dict[str, object]:
    import torch

    env: dict[str, object] = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "torch": torch.__version__,
        "onnxruntime": _version("onnxruntime"),
        "onnx": _version("onnx"),
        "numpy": np.__version__,
        "cuda_available": torch.cuda.is_available(),
        "torch_threads": torch.get_num_threads(),
    }
    if torch.cuda.is_available():
        env |= {
            "device": torch.cuda.get_device_name(0),
            "cuda_runtime": torch.version.cuda,
            "capability": ".".join(map(str, torch.cuda.get_device_capability(0))),
        }
        try:
            import subprocess

            smi = subprocess.run(
                ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                capture_output=True,
                text=True,
                timeout=20,
                check=True,
            )
            env["driver"] = smi.stdout.strip()
        except Exception as exc:  # noqa: BLE001 - driver version is informative only
            env["driver"] = f"unknown ({type(exc).__name__})"
    else:
        env["device"] = "cpu"
    return env


def _time_calls(call, repeats: int, warmup: int, budget_s: float, min_repeats: int) -> np.ndarray:
    call()
    t0 = time.perf_counter()
    call()
    one = time.perf_counter() - t0
    for _ in range(int(min(warmup, max(2, 0.25 * budget_s / max(one, 1e-9))))):
        call()
    n = int(max(min_repeats, min(repeats, budget_s / max(one, 1e-9))))
    times = np.empty(n)
    for i in range(n):
        t = time.perf_counter()
        call()
        times[i] = time.perf_counter() - t
    return times


def _transfers(data: dict[str, np.ndarray], batches: tuple[int, ...]) -> list[dict[str, object]]:
    import torch

    rows = []
    for packed in (False, True):
        for n in batches:
            host = []
            for k, v in data.items():
                a = v[:n].astype(np.uint8 if k == "mask" else np.float16) if packed else v[:n]
                host.append(torch.from_numpy(np.ascontiguousarray(a)).pin_memory())
            dev = [h.to("cuda") for h in host]
            nbytes = sum(h.numel() * h.element_size() for h in host)
            h2d, d2h = [], []
            for _ in range(50):
                e = [torch.cuda.Event(enable_timing=True) for _ in range(3)]
                e[0].record()
                for d, h in zip(dev, host, strict=True):
                    d.copy_(h, non_blocking=True)
                e[1].record()
                for d, h in zip(dev, host, strict=True):
                    h.copy_(d, non_blocking=True)
                e[2].record()
                torch.cuda.synchronize()
                h2d.append(e[0].elapsed_time(e[1]) * 1e3)
                d2h.append(e[1].elapsed_time(e[2]) * 1e3)
            rows.append(
                {
                    "inputs": "fp16+uint8" if packed else "fp32",
                    "batch": n,
                    "bytes": nbytes,
                    "bytes_per_jet": nbytes / n,
                    "h2d_p50_us": float(np.median(h2d)),
                    "d2h_p50_us": float(np.median(d2h)),
                    "h2d_GBps": nbytes / (float(np.median(h2d)) * 1e-6) / 1e9,
                }
            )
    return rows


def run_bench(
    out_dir: Path,
    *,
    batches: tuple[int, ...] = DEFAULT_BATCHES,
    repeats: int = 200,
    warmup: int = 20,
    min_repeats: int = 20,
    budget_s: float = 3.0,
    model_path: Path | None = None,
    only: tuple[str, ...] = (),
) -> dict[str, object]:
    """Run the sweep; write ``bench_gpu.json`` and ``bench_gpu.png`` into ``out_dir``."""
    import tempfile

    import torch

    from trigkit.benchmarks import gpu_contenders as gc
    from trigkit.compile import onnx_export, onnx_run
    from trigkit.compile.gpu_model import load_gpu_model, synthetic_inputs

    model = load_gpu_model(model_path) if model_path else _default_model()
    data = synthetic_inputs(model, max(batches), seed=0)
    check = {k: v[:256] for k, v in data.items()}
    specs = [_Spec(n, (-1, *model.input_shapes[n]), "float32") for n in model.input_names]
    notes: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            onnx_path = onnx_export.export_onnx(model.module, check, Path(tmp) / "m.onnx")
            reference = onnx_run.onnx_probabilities(onnx_path, check)
            ref_name = "onnxruntime-cpu-fp32"
        except Exception as exc:  # noqa: BLE001 - a machine without onnx/onnxruntime still benches torch
            notes.append(
                f"no ONNX/onnxruntime contender: {type(exc).__name__}: "
                f"{str(exc).splitlines()[0] if str(exc) else ''}"
            )
            onnx_path, ref_name = None, "torch-cpu-fp32"
            reference = onnx_export.torch_probabilities(model.module, check)
        contenders = gc.cpu_contenders(model.module, data, onnx_path, specs)
        if torch.cuda.is_available():
            contenders += gc.cuda_contenders(model.module, data)
        if only:
            contenders = [c for c in contenders if c.name in only]
        agreement, failed = _agreement(contenders, check, reference)
        contenders = [c for c in contenders if c.name not in failed]
        points = _sweep(contenders, batches, repeats, warmup, budget_s, min_repeats)
    record: dict[str, object] = {
        "benchmark": "gpu",
        "model": model.name,
        "model_parameters": sum(p.numel() for p in model.module.parameters()),
        "inputs": {s.name: list(s.shape) for s in specs},
        "environment": _environment(),
        "method": {
            "timer": "time.perf_counter around each synchronized end-to-end call",
            "warmup": warmup,
            "repeats": repeats,
            "min_repeats": min_repeats,
            "budget_s_per_point": budget_s,
            "note": "points with repeats < requested hit the per-point time budget",
        },
        "contenders": {c.name: {"precision": c.precision, "note": c.note} for c in contenders},
        "agreement_reference": ref_name,
        "agreement": agreement,
        "notes": notes,
        "failed_contenders": failed,
        "points": points,
        "transfers": _transfers(data, batches) if torch.cuda.is_available() else [],
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    from trigkit.core.atomic import write_text

    write_text(out_dir / "bench_gpu.json", json.dumps(record, indent=2))
    try:
        _plot(points, out_dir / "bench_gpu.png", str(record["environment"]["device"]))  # type: ignore[index]
    except ImportError as exc:
        log.warning("no plot: %s", exc)
    return record


def merge_results(dirs: list[Path], out_dir: Path) -> dict[str, object]:
    """Merge ``bench_gpu.json`` of runs done in separate processes (one CUDA context each)."""
    from trigkit.core.atomic import write_text
    from trigkit.core.errors import TrigkitError

    recs = []
    for d in dirs:
        path = d / "bench_gpu.json"
        if not path.is_file():
            log.warning("merge: %s missing (that process failed); skipped", path)
            continue
        recs.append(json.loads(path.read_text()))
    if not recs:
        raise TrigkitError(f"bench gpu merge: no bench_gpu.json in any of {[str(d) for d in dirs]}")
    merged = dict(recs[0])
    for key in ("contenders", "agreement", "failed_contenders"):
        merged[key] = {k: v for r in recs for k, v in r[key].items()}
    merged["points"] = [p for r in recs for p in r["points"]]
    merged["notes"] = [n for r in recs for n in r["notes"]]
    merged["transfers"] = next((r["transfers"] for r in recs if r["transfers"]), [])
    merged["merged_from"] = [str(d) for d in dirs]
    out_dir.mkdir(parents=True, exist_ok=True)
    write_text(out_dir / "bench_gpu.json", json.dumps(merged, indent=2))
    try:
        _plot(merged["points"], out_dir / "bench_gpu.png", str(merged["environment"]["device"]))
    except ImportError as exc:
        log.warning("no plot: %s", exc)
    return merged


def _default_model() -> object:
    """The issue's anchor: btag-deepsets (DIPS-like) with random weights (timing only)."""
    try:
        return _registry_model()
    except ImportError as exc:  # a bare GPU machine without awkward/pydantic: same architecture
        log.warning("trigkit.models unavailable (%s); using the local DIPS-like module", exc)
        from trigkit.benchmarks.gpu_contenders import local_dips

        return local_dips()


def _registry_model() -> object:
    import tempfile

    import torch

    from trigkit.compile.gpu_model import load_gpu_model
    from trigkit.models.kinds import KINDS
    from trigkit.models.preprocessing import Preprocessing
    from trigkit.models.registry import get_spec
    from trigkit.models.saved import TrainedModel

    spec = get_spec("btag-deepsets")
    kind = KINDS[spec.kind]
    torch.manual_seed(0)
    nf = len(kind.feature_names)
    pre = Preprocessing(
        kind.kind,
        kind.input_names,
        kind.feature_names,
        (0.0,) * nf,
        (1.0,) * nf,
        kind.default_max_objects,
    )
    tm = TrainedModel(
        "btag-deepsets",
        spec.config.build().eval(),
        pre,
        spec.config,
        kind.input_names,
        kind.class_names,
    )
    with tempfile.TemporaryDirectory() as tmp:
        return load_gpu_model(tm.save(Path(tmp) / "m.pt"))


def _agreement(contenders, check, reference) -> dict[str, dict[str, float]]:
    from trigkit.core.errors import TrigkitError

    out = {}
    n = len(reference)
    failed: dict[str, str] = {}
    for c in contenders:
        if not c.min_batch <= n <= c.max_batch:
            continue
        try:
            got = c.prepare(n)()
        except Exception as exc:  # noqa: BLE001 - one broken contender must not sink the run
            log.exception("%s failed", c.name)
            failed[c.name] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            continue
        diff = float(np.max(np.abs(got - reference)))
        tol = AGREE_TOL[c.precision]
        out[c.name] = {"max_abs_diff": diff, "tolerance": tol}
        if not diff <= tol:  # never timed; recorded so the JSON says why the row is missing
            failed[c.name] = f"disagrees with the reference by {diff:.3g} (tolerance {tol})"
            log.error("bench gpu: %s %s", c.name, failed[c.name])
    if not out and contenders:
        first_error = f"bench gpu: no contender could be checked against the reference: {failed}"
        raise TrigkitError(first_error)
    return out, failed


def _sweep(contenders, batches, repeats, warmup, budget_s, min_repeats) -> list[dict[str, object]]:
    points = []
    todo = [
        (c, b)
        for c in contenders
        for b in batches
        if max(c.min_batch, c.sweep_min_batch) <= b <= c.max_batch
    ]
    with _progress(len(todo)) as advance:
        for c, b in todo:
            try:
                call = c.prepare(b)
                t = _time_calls(call, repeats, warmup, budget_s, min_repeats) * 1e6
            except Exception as exc:  # noqa: BLE001 - e.g. out of memory at one batch size
                log.exception("%s batch %d failed", c.name, b)
                points.append(
                    {
                        "contender": c.name,
                        "precision": c.precision,
                        "batch": b,
                        "error": f"{type(exc).__name__}: "
                        f"{str(exc).splitlines()[0] if str(exc) else ''}",
                    }
                )
                advance()
                continue
            p50 = float(np.percentile(t, 50))
            points.append(
                {
                    "contender": c.name,
                    "precision": c.precision,
                    "batch": b,
                    "repeats": len(t),
                    "p50_us": p50,
                    "p99_us": float(np.percentile(t, 99)),
                    "mean_us": float(t.mean()),
                    "jets_per_s": b / (p50 * 1e-6),
                }
            )
            log.info("%s batch %d: p50 %.1f us", c.name, b, p50)
            del call
            advance()
    return points


@contextlib.contextmanager
def _progress(total: int):
    try:
        from rich.progress import Progress
    except ImportError:
        yield lambda: None
        return
    with Progress(transient=True) as bar:
        task = bar.add_task("bench gpu", total=total)
        yield lambda: bar.advance(task)


def _plot(points: list[dict[str, object]], path: Path, device: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 5))
    names = list(dict.fromkeys(p["contender"] for p in points))
    colors = plt.get_cmap("tab20")
    for i, name in enumerate(names):
        pts = [p for p in points if p["contender"] == name and "error" not in p]
        b = [p["batch"] for p in pts]
        style = {
            "color": colors(i % 20),
            "marker": "os^Dv"[i % 5],
            "label": name,
            "linestyle": "-" if name.startswith(("mma-", "fused-", "tc-")) else "--",
        }
        ax1.plot(b, [p["p50_us"] for p in pts], **style)
        ax2.plot(b, [p["jets_per_s"] for p in pts], **style)
    ax1.axhline(
        GOAL_BATCH1_US, color="k", lw=0.8, ls=":", label=f"goal: batch 1 <= {GOAL_BATCH1_US:g} us"
    )
    ax2.axhline(
        GOAL_JETS_PER_S,
        color="k",
        lw=0.8,
        ls=":",
        label=f"goal: >= {GOAL_JETS_PER_S / 1e6:g} M jets/s",
    )
    for ax, label in ((ax1, "p50 latency per call [us]"), (ax2, "throughput [jets/s]")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("batch size [jets]")
        ax.set_ylabel(label)
        ax.grid(True, which="both", alpha=0.3)
    ax1.legend(fontsize=7)
    ax2.legend(handles=ax2.get_lines()[-1:], fontsize=7, loc="upper left")
    fig.suptitle(f"b-tagger (DIPS-like) end to end incl. host<->device copies - {device}")
    fig.tight_layout()
    from trigkit.core.atomic import atomic_path

    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)


def summary_rows(record: dict[str, object]) -> list[tuple[str, int, int, float, float, float]]:
    return [
        (p["contender"], p["batch"], p["repeats"], p["p50_us"], p["p99_us"], p["jets_per_s"])
        for p in record["points"]  # type: ignore[union-attr]
        if "error" not in p
    ]


def _bench_bundle(
    bundle: Path, sizes: tuple[int, ...], backend: str, warmup: int, repeats: int, out: Path
) -> None:
    """`bench gpu --bundle`: the bundle benchmark, refused on an fpga bundle."""
    from trigkit.benchmarks.bundle import BenchRequest, bench_target_bundle

    bench_target_bundle(BenchRequest(bundle, sizes, None, backend, warmup, repeats), "gpu", out)


def register(app: typer.Typer) -> None:
    import typer

    @app.command("gpu")
    def bench_gpu(
        out: Path = typer.Option(
            Path("bench/results"), "--out", help="Directory for bench_gpu.json/.png."
        ),
        batches: str = typer.Option(",".join(map(str, DEFAULT_BATCHES)), "--batches"),
        repeats: int = typer.Option(200, "--repeats", min=1),
        warmup: int = typer.Option(20, "--warmup", min=0),
        budget_s: float = typer.Option(
            3.0, "--budget-s", help="Max seconds per (backend, batch) point."
        ),
        model: Path | None = typer.Option(
            None, "--model", help="Saved model (default: DIPS-like anchor)."
        ),
        bundle: Path | None = typer.Option(
            None,
            "--bundle",
            help="Time this gpu bundle through --backend instead (as `trigkit bench bundle`; "
            "writes OUT/bench_bundle.json).",
        ),
        backend: str = typer.Option(
            "onnxruntime", "--backend", help="Runtime backend for --bundle."
        ),
    ) -> None:
        """Batch sweep over every available backend: p50/p99 latency, jets/s, copies; JSON + PNG."""
        from rich.console import Console
        from rich.table import Table

        from trigkit.core.errors import TrigkitError

        try:
            sizes = tuple(int(b) for b in batches.split(","))
        except ValueError:
            raise TrigkitError(
                f"--batches '{batches}': expected comma-separated integers"
            ) from None
        if bundle is not None:
            _bench_bundle(bundle, sizes, backend, warmup, repeats, out)
            return
        rec = run_bench(
            out,
            batches=sizes,
            repeats=repeats,
            warmup=warmup,
            budget_s=budget_s,
            model_path=model,
            min_repeats=min(20, repeats),
        )
        table = Table(title=f"bench gpu ({rec['environment']['device']})")  # type: ignore[index]
        for col in ("contender", "batch", "repeats", "p50 us", "p99 us", "jets/s"):
            table.add_column(col)
        for name, b, n, p50, p99, thr in summary_rows(rec):
            table.add_row(name, str(b), str(n), f"{p50:.1f}", f"{p99:.1f}", f"{thr:.3g}")
        Console().print(table)
        Console().print(f"wrote {out / 'bench_gpu.json'} and {out / 'bench_gpu.png'}")
