"""`trigkit bench bundle BUNDLE`: latency / throughput of any bundle, per batch size.

Works on every bundle, trigkit's own or one compiled from a model trained elsewhere:

* GPU bundle: the runtime backend ``--backend`` (onnxruntime, torch, tensorrt, ... from
  :mod:`trigkit.runtime.backends`) runs the bundle; one call = ``Runner.infer`` (input
  validation, copies and the network, synchronized);
* FPGA bundle: the bit-exact numba emulation of its firmware (``FirmwareEmulator.predict``);
  a set (DeepSets / Conv1D) bundle takes its rows flattened constituent-major, as stored.

``trigkit bench gpu --bundle`` / ``bench fpga --bundle`` are the same benchmark for one target.

Inputs are the bundle's recorded reference inputs (``reference.npz``) or ``--data FILE.npz``
(one array per input name, or ``in_<name>``); rows are repeated cyclically up to each batch
size. Per batch: ``warmup`` untimed calls, then ``repeats`` calls timed one by one with
``time.perf_counter``; the JSON keeps every timing (``times_us``) and p50 / p99 / mean are
numpy percentiles / mean of them, throughput = batch / p50 (rows per second). Before timing,
the artifact's outputs on the reference inputs are compared with the recorded outputs
(``max_abs_diff_vs_reference``). The result carries a ``provenance`` record.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from trigkit.core.errors import TrigkitError

if TYPE_CHECKING:
    import typer

Feed = dict[str, np.ndarray]
Clock = Callable[[], float]
DEFAULT_BATCHES = (1, 64, 1024)


@dataclass(frozen=True)
class BatchStats:
    """Latency of one batch size, from the per-call timings (microseconds)."""

    batch: int
    repeats: int
    p50_us: float
    p99_us: float
    mean_us: float
    throughput_per_s: float
    times_us: list[float]


def summarize(batch: int, times_s: np.ndarray) -> BatchStats:
    """p50 / p99 / mean of the call times and throughput = batch / p50."""
    us = np.asarray(times_s, dtype=np.float64) * 1e6
    if us.size == 0:
        raise TrigkitError("bench bundle: no timed calls (--repeats must be >= 1)")
    p50 = float(np.percentile(us, 50))
    return BatchStats(
        batch=batch,
        repeats=int(us.size),
        p50_us=p50,
        p99_us=float(np.percentile(us, 99)),
        mean_us=float(us.mean()),
        throughput_per_s=batch / (p50 * 1e-6) if p50 > 0 else float("inf"),
        times_us=[float(t) for t in us],
    )


def time_calls(
    fn: Callable[[Feed], Any], feed: Feed, warmup: int, repeats: int, clock: Clock
) -> np.ndarray:
    """Seconds of each of ``repeats`` calls ``fn(feed)`` after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn(feed)
    out = np.empty(repeats)
    for i in range(repeats):
        t0 = clock()
        fn(feed)
        out[i] = clock() - t0
    return out


def tile_rows(feed: Feed, batch: int) -> Feed:
    """Every input with its rows repeated cyclically to ``batch`` rows."""
    out = {}
    for name, x in feed.items():
        if len(x) == 0:
            raise TrigkitError(f"bench bundle: input '{name}' has no rows")
        out[name] = np.ascontiguousarray(x[np.arange(batch) % len(x)])
    return out


def load_data(path: Path, names: list[str]) -> Feed:
    """--data FILE.npz: one array per input name (``name`` or ``in_name``)."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (OSError, ValueError) as exc:
        raise TrigkitError(f"--data {path}: cannot read as .npz ({exc})") from None
    feed = {}
    for n in names:
        key = n if n in arrays else f"in_{n}"
        if key not in arrays:
            raise TrigkitError(
                f"--data {path}: no array for input '{n}'; the file has "
                f"{', '.join(sorted(arrays)) or 'none'} (valid keys: {n} or in_{n})"
            )
        feed[n] = arrays[key]
    return feed


def firmware_rows(bundle: Any, x: np.ndarray, where: str) -> np.ndarray:  # noqa: ANN401
    """Rows for an fpga bundle's emulation: flat ``[n, n_inputs]`` as stored, or a set model's
    rows in its own layout (``[n, n_const, n_feat]``; ``[n, n_feat, n_const]`` for a
    channels-first source) flattened constituent-major, as the firmware reads them."""
    from trigkit.runtime.compare import source_and_firmware_rows

    width = bundle.manifest.inputs[0].shape[-1]
    info = bundle.manifest.target_info.get("imported") or {}
    shape = tuple(info.get("input_shape") or ())
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 3 and len(shape) == 2 and x.shape[1:] == shape:
        return source_and_firmware_rows(info, x)[1]
    if x.ndim == 2 and x.shape[1] == width:
        return x
    set_shape = f" or [n, {shape[0]}, {shape[1]}] (the model's own layout)" if shape[1:] else ""
    raise TrigkitError(f"{where}: rows of shape {x.shape}; expected [n, {width}]{set_shape}")


@dataclass(frozen=True)
class Artifact:
    """What is timed: ``call(feed)`` and a description."""

    call: Callable[[Feed], Any]
    target: str
    backend: str
    close: Callable[[], None]


def open_artifact(path: Path, backend: str) -> Artifact:
    """The runner (GPU bundle) or firmware emulation (FPGA bundle) of ``path``."""
    from trigkit.bundle.manifest import load_bundle

    target = load_bundle(path).manifest.target
    if target == "fpga":
        from trigkit.firmware.emulate import FirmwareEmulator

        emu = FirmwareEmulator.from_bundle(path)
        return Artifact(
            lambda f: emu.predict(next(iter(f.values()))), "fpga", "numba-emulation", lambda: None
        )
    from trigkit.runtime import load_runner

    runner = load_runner(path, backend=backend).activate()
    return Artifact(runner.infer, "gpu", backend, runner.deactivate)


def reference_diff(art: Artifact, ins: Feed, outs: Feed) -> float | None:
    """max |artifact - recorded output| on the reference inputs (None without a reference)."""
    if not ins or len(outs) != 1:
        return None
    want = np.asarray(next(iter(outs.values())), dtype=np.float64)
    got = np.asarray(art.call(ins), dtype=np.float64)
    if got.shape != want.shape:
        raise TrigkitError(
            f"bench bundle: output shape {got.shape} differs from the reference {want.shape}"
        )
    return float(np.max(np.abs(got - want))) if want.size else 0.0


@dataclass(frozen=True)
class BenchRequest:
    """One ``trigkit bench bundle`` run."""

    bundle: Path
    batches: tuple[int, ...] = DEFAULT_BATCHES
    data: Path | None = None
    backend: str = "onnxruntime"
    warmup: int = 5
    repeats: int = 100


def run_bundle_bench(
    req: BenchRequest,
    clock: Clock = time.perf_counter,
    progress: Callable[[], None] = lambda: None,
) -> dict[str, Any]:
    """The result record (see the module docstring); ``progress()`` after each batch size."""
    from trigkit.benchmarks.provenance import provenance
    from trigkit.bundle.manifest import load_bundle

    if not req.batches or min(req.batches) < 1:
        raise TrigkitError(f"--batch {req.batches}: batch sizes must be positive integers")
    b = load_bundle(req.bundle)
    ref_in, ref_out = b.reference() if "reference.npz" in b.manifest.files else ({}, {})
    names = [t.name for t in b.manifest.inputs]
    feed = load_data(req.data, names) if req.data is not None else ref_in
    if req.data is not None and b.manifest.target == "fpga":
        feed = {k: firmware_rows(b, v, f"--data {req.data} [{k}]") for k, v in feed.items()}
    if not feed:
        raise TrigkitError(f"{req.bundle}: no recorded reference inputs; pass --data FILE.npz")
    art = open_artifact(req.bundle, req.backend)
    try:
        diff = reference_diff(art, ref_in, ref_out)
        stats = []
        for n in req.batches:
            times = time_calls(art.call, tile_rows(feed, n), req.warmup, req.repeats, clock)
            stats.append(asdict(summarize(n, times)))
            progress()
    finally:
        art.close()
    return {
        "bundle": str(req.bundle),
        "model_name": b.manifest.model_name,
        "target": art.target,
        "backend": art.backend,
        "inputs_from": str(req.data) if req.data is not None else "reference.npz",
        "warmup": req.warmup,
        "max_abs_diff_vs_reference": diff,
        "batches": stats,
        "provenance": provenance(),
    }


def _parse_batches(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in text.split(","))
    except ValueError:
        raise TrigkitError(f"--batch '{text}': expected comma-separated integers") from None


def _print(rec: dict[str, Any], out: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"bench bundle {rec['bundle']} ({rec['target']}, {rec['backend']})")
    for col in ("batch", "repeats", "p50 us", "p99 us", "rows/s"):
        table.add_column(col, justify="right")
    for s in rec["batches"]:
        table.add_row(
            str(s["batch"]),
            str(s["repeats"]),
            f"{s['p50_us']:.1f}",
            f"{s['p99_us']:.1f}",
            f"{s['throughput_per_s']:.3g}",
        )
    console = Console()
    console.print(table)
    console.print(f"wrote {out}")


def register(app: typer.Typer) -> None:
    import typer

    @app.command("bundle")
    def bench_bundle(
        bundle: Path = typer.Argument(..., help="A bundle directory (gpu or fpga)."),
        batch: str = typer.Option(",".join(map(str, DEFAULT_BATCHES)), "--batch"),
        data: Path | None = typer.Option(
            None, "--data", help="Inputs .npz (default: the bundle's reference inputs)."
        ),
        backend: str = typer.Option("onnxruntime", "--backend", help="GPU runtime backend."),
        repeats: int = typer.Option(100, "--repeats", min=1),
        warmup: int = typer.Option(5, "--warmup", min=0),
        out: Path = typer.Option(Path("bench_bundle.json"), "--out", help="Result JSON."),
        allow_older: bool = typer.Option(False, "--allow-older"),
    ) -> None:
        """p50/p99 latency and throughput of any bundle per batch size; JSON + table."""
        req = BenchRequest(bundle, _parse_batches(batch), data, backend, warmup, repeats)
        bench_and_print(req, out, allow_older=allow_older)

    @app.command("fpga")
    def bench_fpga(
        bundle: Path = typer.Option(
            ..., "--bundle", help="An fpga bundle: timed through its bit-exact numba emulation."
        ),
        batches: str = typer.Option(",".join(map(str, DEFAULT_BATCHES)), "--batches"),
        data: Path | None = typer.Option(
            None, "--data", help="Inputs .npz (default: the bundle's reference inputs)."
        ),
        repeats: int = typer.Option(100, "--repeats", min=1),
        warmup: int = typer.Option(5, "--warmup", min=0),
        out: Path = typer.Option(
            Path("bench/results"), "--out", help="Directory for bench_bundle.json."
        ),
    ) -> None:
        """Latency / throughput of an fpga bundle's firmware emulation (as `bench bundle`)."""
        req = BenchRequest(bundle, _parse_batches(batches), data, "onnxruntime", warmup, repeats)
        bench_target_bundle(req, "fpga", out)


def bench_target_bundle(req: BenchRequest, target: str, out_dir: Path) -> dict[str, Any]:
    """`bench gpu|fpga --bundle`: :func:`bench_and_print` into ``out_dir/bench_bundle.json``,
    refused on a bundle of the other target."""
    from trigkit.bundle.manifest import load_bundle

    got = load_bundle(req.bundle).manifest.target
    if got != target:
        raise TrigkitError(
            f"--bundle {req.bundle}: a {got} bundle; `bench {target}` takes {target} bundles "
            "(time any bundle with `trigkit bench bundle`)"
        )
    return bench_and_print(req, out_dir / "bench_bundle.json")


def bench_and_print(req: BenchRequest, out: Path, *, allow_older: bool = False) -> dict[str, Any]:
    """Run ``req`` with a progress bar, write the JSON to ``out``, print the table (the CLI's
    `bench bundle` and `bench gpu --bundle`)."""
    from rich.progress import Progress

    from trigkit.benchmarks.provenance import write_result

    with Progress(transient=True) as bar:
        task = bar.add_task("bench bundle", total=len(req.batches))
        rec = run_bundle_bench(req, progress=lambda: bar.advance(task))
    write_result(out, rec, allow_older=allow_older)
    _print(rec, out)
    return rec
