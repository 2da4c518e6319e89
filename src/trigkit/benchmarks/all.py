"""`trigkit bench all`: run every benchmark this machine can, collect one JSON, print one table.

Each benchmark is run through its own module's public function (generator, emulator, firmware,
gpu); a benchmark whose requirements are missing (hls4ml / g++ for firmware, torch for gpu) is
skipped with the reason recorded, and one that fails is recorded as failed while the others still
run. ``--quick`` uses small sizes (CI / tests); the default sizes are those of each benchmark's own
command.
"""

from __future__ import annotations

import logging
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

import typer

from trigkit.core.errors import TrigkitError

log = logging.getLogger(__name__)

Status = Literal["ok", "skipped", "failed"]


@dataclass(frozen=True)
class BenchSpec:
    """One benchmark: what it needs, how to run it, and its one-line headline."""

    name: str
    needs: Callable[[], str | None]  # None when runnable, else the reason it is not
    run: Callable[[bool, Path], dict[str, Any]]  # (quick, work_dir) -> JSON record
    headline: Callable[[dict[str, Any]], str]


@dataclass(frozen=True)
class BenchOutcome:
    name: str
    status: Status
    seconds: float
    reason: str = ""
    headline: str = ""
    record: dict[str, Any] | None = None


@dataclass(frozen=True)
class AllBenchResult:
    quick: bool
    machine: dict[str, Any]
    outcomes: tuple[BenchOutcome, ...] = field(default_factory=tuple)

    @property
    def failed(self) -> list[BenchOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    def to_json(self) -> dict[str, Any]:
        from trigkit.benchmarks.provenance import provenance

        return {
            "benchmark": "all",
            "quick": self.quick,
            "provenance": provenance(),
            "machine": self.machine,
            "results": {o.name: asdict(o) for o in self.outcomes},
        }


# --- machine ---------------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def _dist_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _gpu_name() -> str | None:
    try:
        import torch
    except ImportError:
        return None
    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None


def machine_info() -> dict[str, Any]:
    """CPU model, cores, memory, GPU and the versions that decide the numbers."""
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "platform": platform.platform(),
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "affinity_cpus": affinity,
        "memory_bytes": _memory_bytes(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "gpu": _gpu_name(),
        "python": platform.python_version(),
        "versions": {
            name: _dist_version(name)
            for name in ("numpy", "numba", "torch", "awkward", "onnxruntime", "hls4ml", "trigkit")
        },
    }


# --- the benchmarks --------------------------------------------------------------------------


def _needs_modules(*modules: str) -> Callable[[], str | None]:
    """A ``needs`` check: the first of ``modules`` that does not import, with why."""

    def needs() -> str | None:
        from trigkit.core.lazy import probe

        for module in modules:
            ok, why = probe(module)
            if not ok:
                return f"{module} not importable ({why})"
        return None

    return needs


def _needs_firmware() -> str | None:
    from trigkit.core.lazy import probe

    ok, why = probe("hls4ml")
    if not ok:
        return f"hls4ml not importable ({why}); install trigkit[fpga]"
    if shutil.which("g++") is None:
        return "g++ not found on PATH (needed for the hls4ml C simulation)"
    return None


def _run_generator(quick: bool, work: Path) -> dict[str, Any]:
    from trigkit.benchmarks import generator

    events, chunk = (20_000, 10_000) if quick else (1_000_000, 100_000)
    return generator.run_generator_bench(
        process="hh4b", events=events, seed=1, chunk_size=chunk
    ).to_json()


def _run_emulator(quick: bool, work: Path) -> dict[str, Any]:
    from trigkit.benchmarks import emulator

    if quick:
        res = emulator.run_benchmark(
            menu_name="run3_hh4b", n_events=200_000, awkward_events=5_000, n_base=5_000, repeats=2
        )
    else:
        res = emulator.run_benchmark()
    return res.to_json()


def _run_firmware(quick: bool, work: Path) -> dict[str, Any]:
    from trigkit.benchmarks import firmware

    n, repeats = (2_000, 1) if quick else (100_000, 3)
    return firmware.run_firmware_bench(n=n, repeats=repeats, work_dir=work / "firmware").to_json()


def _run_gpu(quick: bool, work: Path) -> dict[str, Any]:
    from trigkit.benchmarks import gpu

    if quick:
        return gpu.run_bench(
            work / "gpu", batches=(1, 64), repeats=5, warmup=1, min_repeats=2, budget_s=0.5
        )
    return gpu.run_bench(work / "gpu")


def _generator_headline(r: dict[str, Any]) -> str:
    best = max(r["contenders"], key=lambda c: c["events_per_minute"])
    return (
        f"{best['events_per_minute']:,.0f} {r['process']} events/min "
        f"({best['name']}); identical output: {r['identical']}"
    )


def _emulator_headline(r: dict[str, Any]) -> str:
    return (
        f"fused {r['fused_events_per_s_per_core'] / 1e6:.2f} M events/s/core, "
        f"{r['speedup_per_core']:.1f}x awkward; identical: {r['identical']}"
    )


def _firmware_headline(r: dict[str, Any]) -> str:
    return (
        f"emulator {r['speedup']:.1f}x hls4ml C-sim; {r['mismatching_samples']} "
        f"mismatching of {r['n_inputs']}"
    )


def _gpu_headline(r: dict[str, Any]) -> str:
    points = [p for p in r.get("points", []) if "error" not in p]
    if not points:
        return f"no successful points on {r['environment']['device']}"
    best = max(points, key=lambda p: p["jets_per_s"])
    return (
        f"{len(r['contenders'])} contenders on {r['environment']['device']}; best "
        f"{best['jets_per_s']:.3g} jets/s ({best['contender']}, batch {best['batch']})"
    )


BENCHMARKS: tuple[BenchSpec, ...] = (
    BenchSpec(
        "generator",
        _needs_modules("numba", "awkward", "pyarrow"),
        _run_generator,
        _generator_headline,
    ),
    BenchSpec("emulator", _needs_modules("numba", "awkward"), _run_emulator, _emulator_headline),
    BenchSpec("firmware", _needs_firmware, _run_firmware, _firmware_headline),
    BenchSpec("gpu", _needs_modules("torch"), _run_gpu, _gpu_headline),
)


def _one(spec: BenchSpec, quick: bool, work: Path) -> BenchOutcome:
    reason = spec.needs()
    if reason is not None:
        log.info("bench %s skipped: %s", spec.name, reason)
        return BenchOutcome(spec.name, "skipped", 0.0, reason=reason)
    t0 = time.perf_counter()
    try:
        record = spec.run(quick, work)
    except Exception as exc:  # noqa: BLE001 - one failing benchmark must not lose the others
        log.warning("bench %s failed", spec.name, exc_info=not isinstance(exc, TrigkitError))
        msg = str(exc).splitlines()[0] if str(exc) else ""
        return BenchOutcome(
            spec.name, "failed", time.perf_counter() - t0, reason=f"{type(exc).__name__}: {msg}"
        )
    seconds = time.perf_counter() - t0
    try:
        headline = spec.headline(record)
    except (KeyError, TypeError, ValueError) as exc:
        headline = f"(no headline: {type(exc).__name__}: {exc})"
    return BenchOutcome(spec.name, "ok", seconds, headline=headline, record=record)


def run_all(
    quick: bool = False,
    only: tuple[str, ...] = (),
    work_dir: Path | None = None,
    on_start: Callable[[str], None] | None = None,
) -> AllBenchResult:
    """Run (or skip, with the reason) every benchmark in :data:`BENCHMARKS`."""
    names = [s.name for s in BENCHMARKS]
    unknown = [n for n in only if n not in names]
    if unknown:
        raise TrigkitError(
            f"--only {','.join(unknown)}: unknown benchmark; valid: {', '.join(names)}"
        )
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="trigkit-bench-all-") as tmp:
        work = Path(work_dir) if work_dir is not None else Path(tmp)
        for spec in BENCHMARKS:
            if only and spec.name not in only:
                outcomes.append(
                    BenchOutcome(spec.name, "skipped", 0.0, reason="not selected (--only)")
                )
                continue
            if on_start is not None:
                on_start(spec.name)
            outcomes.append(_one(spec, quick, work))
    return AllBenchResult(quick, machine_info(), tuple(outcomes))


def bench_all(
    out: Path = typer.Option(Path("bench/results/all.json"), "--out", help="JSON output file."),
    quick: bool = typer.Option(False, "--quick", help="Small sizes (CI / smoke test)."),
    only: str = typer.Option(
        "", "--only", help="Comma-separated subset: generator,emulator,firmware,gpu."
    ),
    allow_older: bool = typer.Option(
        False,
        "--allow-older",
        help="Replace an --out result made by newer or unrelated code (by its git commit).",
    ),
    force: bool = typer.Option(
        False,
        "--force",
        help="Overwrite an --out file that is a frozen result (the H100 GPU results, which no "
        "machine here can measure again).",
    ),
) -> None:
    """Every benchmark this machine can run, one JSON with machine info, one summary table."""
    from rich.console import Console
    from rich.table import Table

    from trigkit.benchmarks.frozen import check_not_frozen
    from trigkit.benchmarks.provenance import check_overwrite, write_result

    selected = tuple(s.strip() for s in only.split(",") if s.strip())
    if out.exists() and out.is_dir():
        raise TrigkitError(f"--out {out}: is a directory; give a JSON file path")
    check_not_frozen(out, force)  # before the benchmarks run, not after
    check_overwrite(out, allow_older)
    err = Console(stderr=True)
    with err.status("benchmarks ...") as status:
        res = run_all(quick, selected, on_start=lambda n: status.update(f"bench {n} ..."))
    write_result(out, res.to_json(), allow_older)
    m = res.machine
    table = Table(
        title=f"trigkit bench all{' --quick' if quick else ''}: "
        f"{m['cpu_model']}, {m['cpu_count']} cores, GPU: {m['gpu'] or 'none'}"
    )
    for col in ("benchmark", "status", "seconds", "result / reason"):
        table.add_column(col)
    for o in res.outcomes:
        table.add_row(
            o.name,
            o.status,
            f"{o.seconds:.1f}" if o.status != "skipped" else "-",
            o.headline if o.status == "ok" else o.reason,
        )
    Console().print(table)
    err.print(f"wrote {out}")
    if res.failed:
        names = ", ".join(f"{o.name} ({o.reason})" for o in res.failed)
        raise TrigkitError(f"bench all: {len(res.failed)} benchmark(s) failed: {names}; see {out}")


def register(app: typer.Typer) -> None:
    app.command("all")(bench_all)
