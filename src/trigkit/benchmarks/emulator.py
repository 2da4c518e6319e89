"""`trigkit bench emulator`: the fused numba menu pass vs the awkward-array implementation.

Events: generated HH->4b, QCD and ttbar (``trigkit.events.generator``) with the baseline
stand-in scores (cached per-jet fields), mixed and tiled to ``--events``. Contenders, timed in
one process (best of ``--repeats``):

* ``fused``: :func:`trigkit.emulator.engine.onepass.run_onepass` (the one-pass kernel: each
  event's jets read once) on the flat buffers, 1 thread (per core) and all numba threads, on
  the backend it picks (``backend`` in the JSON: ``c``, the AVX-512 lane kernel, where the host
  and compiler allow, else ``numba``; ``backend_reason`` says why numba);
* ``numba_1thread``: the numba kernel on one thread, timed in the same loop on the same events
  as the 1-thread fused pass (alternating), so their ratio and both memory-floor fractions
  (``numba_memory_floor_fraction``) are visible side by side;
* ``perpath``: the previous opcode pass, removed with it (one generated kernel and one reference
  remain); its JSON keys stay, null;
* ``awkward``: :func:`trigkit.emulator.engine.reference.run_reference_events` (every cut's awkward
  reference evaluation) on the awkward arrays (on ``--awkward-events`` events, it scales
  linearly). Labelled *naive*: it converts float32 -> float64 inside every cut and sorts all
  scores for a top-2;
* ``awkward_careful`` and ``numpy`` (:mod:`trigkit.benchmarks.emulator_baselines`): the same
  menu as a careful user writes it, on awkward arrays and on the fused pass's flat buffers;
* ``skeleton``: the kernel's loop shape with an empty body, the best any kernel of that shape
  can do (``skeleton_floor_fraction``: the numpy floor over it);
* ``memory_floor`` and ``stream_floor`` (:mod:`trigkit.benchmarks.memory_floor`): a numpy read
  (one ``sum`` per buffer) and a numba read (all of a collection's buffers in one loop) of
  exactly the bytes the kernel reads; the fused pass's achieved fraction of each
  (``memory_floor_fraction``, goal >= 0.5 on one thread; ``stream_floor_fraction``, the
  stricter one) says how close it runs to memory bandwidth.

Every ratio is per core: a 1-thread contender against the 1-thread fused pass, and the
all-thread fused pass divided by its thread count (``threads`` in the JSON names each side's).
Decisions are asserted identical (all L1 seeds and HLT paths) on the awkward subset. Goals:
fused >= 10x awkward per core; >= 20 M events/s per core for the whole menu. Single-thread runs
are also timed in CPU seconds (``time.thread_time``), which a loaded machine inflates less than
wall time.
"""

from __future__ import annotations

import os
import platform
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import typer

GOAL_SPEEDUP = 10.0
GOAL_EVENTS_PER_S_PER_CORE = 20e6
GOAL_MEMORY_FLOOR_FRACTION = 0.5
#: events for the numpy contender (its float64 copies of every column take memory)
NUMPY_EVENTS = 1_000_000
AWKWARD_NAIVE_LABEL = (
    "naive: emulator.engine.reference (float32->float64 in every cut, sorts scores for top-k)"
)


@dataclass(frozen=True)
class EmulatorBenchResult:
    menu: str
    n_events: int
    awkward_events: int
    n_triggers: int
    bytes_per_event: float
    threads: int
    fused_1thread_s: float
    fused_1thread_cpu_s: float
    perpath_1thread_s: float | None  # the removed per-path contender: None
    perpath_1thread_cpu_s: float | None
    fused_all_s: float
    awkward_s: float
    identical: bool
    accept_fraction: dict[str, float]
    awkward_careful_s: float = float("nan")
    numpy_events: int = 0
    numpy_s: float = float("nan")
    memory_floor_s: float = float("nan")
    stream_floor_s: float = float("nan")
    skeleton_s: float = float("nan")  # the kernel's loop shape, empty body (memory_floor)
    backend: str = "numba"  # the kernel the fused rows timed (onepass.choose_backend)
    backend_reason: str = ""  # why numba, when it is
    numba_1thread_s: float = float("nan")  # the numba kernel, same loop and events
    numba_1thread_cpu_s: float = float("nan")
    provenance: dict[str, Any] | None = None

    @property
    def fused_per_core(self) -> float:
        return self.n_events / self.fused_1thread_s

    @property
    def fused_per_core_cpu(self) -> float:
        return self.n_events / self.fused_1thread_cpu_s

    @property
    def fused_all(self) -> float:
        return self.n_events / self.fused_all_s

    @property
    def awkward_per_s(self) -> float:
        return self.awkward_events / self.awkward_s

    @property
    def speedup(self) -> float:
        return self.fused_per_core / self.awkward_per_s

    @property
    def awkward_careful_per_s(self) -> float:
        return self.awkward_events / self.awkward_careful_s

    @property
    def numpy_per_s(self) -> float:
        return self.numpy_events / self.numpy_s

    @property
    def memory_floor_fraction(self) -> float:
        """Time of a bare read of the fused pass's bytes over the 1-thread fused pass's time."""
        return self.memory_floor_s / self.fused_1thread_s

    @property
    def stream_floor_fraction(self) -> float:
        """The same against one numba pass streaming each collection's buffers together."""
        return self.stream_floor_s / self.fused_1thread_s

    @property
    def numba_memory_floor_fraction(self) -> float:
        """The memory-floor fraction of the numba kernel on one thread (the fallback)."""
        return self.memory_floor_s / self.numba_1thread_s

    @property
    def numba_stream_floor_fraction(self) -> float:
        return self.stream_floor_s / self.numba_1thread_s

    @property
    def skeleton_floor_fraction(self) -> float:
        """The numpy floor over the empty loop skeleton: the most the kernel's shape can reach."""
        return self.memory_floor_s / self.skeleton_s

    def thread_counts(self) -> dict[str, int]:
        one = ("fused_1thread", "numba_1thread", "awkward", "awkward_careful", "numpy")
        floors = {"memory_floor": 1, "stream_floor": 1, "skeleton": 1}
        return {k: 1 for k in one} | {"fused_all": self.threads} | floors

    def per_core_ratios(self) -> dict[str, float]:
        """Fused events/s per core over each contender's (both sides on the same threads)."""
        all_per_core = self.fused_all / self.threads
        return {
            "fused_1thread_vs_awkward_naive": self.speedup,
            "fused_1thread_vs_awkward_careful": self.fused_per_core / self.awkward_careful_per_s,
            "fused_1thread_vs_numpy": self.fused_per_core / self.numpy_per_s,
            "fused_all_per_core_vs_awkward_naive": all_per_core / self.awkward_per_s,
            "fused_all_per_core_vs_awkward_careful": all_per_core / self.awkward_careful_per_s,
            "fused_all_per_core_vs_numpy": all_per_core / self.numpy_per_s,
        }

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {
            "awkward_label": AWKWARD_NAIVE_LABEL,
            "awkward_careful_events_per_s": self.awkward_careful_per_s,
            "numpy_events_per_s": self.numpy_per_s,
            "memory_floor_bytes_per_s": self.bytes_per_event * self.n_events / self.memory_floor_s,
            "memory_floor_fraction": self.memory_floor_fraction,
            "stream_floor_bytes_per_s": self.bytes_per_event * self.n_events / self.stream_floor_s,
            "stream_floor_fraction": self.stream_floor_fraction,
            "skeleton_floor_fraction": self.skeleton_floor_fraction,
            "numba_memory_floor_fraction": self.numba_memory_floor_fraction,
            "numba_stream_floor_fraction": self.numba_stream_floor_fraction,
            "fused_1thread_vs_numba_1thread": self.numba_1thread_s / self.fused_1thread_s,
            "speedup_per_core_vs_awkward_careful": self.fused_per_core / self.awkward_careful_per_s,
            "speedup_per_core_vs_numpy": self.fused_per_core / self.numpy_per_s,
            "ratios_per_core": self.per_core_ratios(),
            "thread_counts": self.thread_counts(),
            "fused_events_per_s_per_core": self.fused_per_core,
            "fused_events_per_cpu_s": self.fused_per_core_cpu,
            "perpath_events_per_s_per_core": None,
            "perpath_events_per_cpu_s": None,
            "fused_events_per_s_all_threads": self.fused_all,
            "awkward_events_per_s": self.awkward_per_s,
            "speedup_per_core": self.speedup,
            "goals": {
                "speedup": GOAL_SPEEDUP,
                "events_per_s_per_core": GOAL_EVENTS_PER_S_PER_CORE,
                "memory_floor_fraction": GOAL_MEMORY_FLOOR_FRACTION,
            },
            "machine": machine_info(),
        }


def machine_info() -> dict[str, Any]:
    import awkward
    import numba
    import numpy

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "numpy": numpy.__version__,
        "numba": numba.__version__,
        "awkward": awkward.__version__,
        "numba_threads": numba.config.NUMBA_NUM_THREADS,
    }


def _base_events(n_base: int, seed: int):  # noqa: ANN202
    from trigkit.emulator.scores import attach_baseline_scores
    from trigkit.events.batch import EventBatch
    from trigkit.events.generator import generate

    parts = [
        generate(p, max(1, int(n_base * f)), seed + i)
        for i, (p, f) in enumerate((("hh4b", 0.2), ("qcd", 0.6), ("ttbar", 0.2)))
    ]
    parts = [attach_baseline_scores(b) for b in parts]
    for b in parts:
        b.process = "mixed"
        b.lumi_pb = 1.0
    return EventBatch.concatenate(parts)


def _tile(cols, n_events: int):  # noqa: ANN001, ANN202
    """Repeat the columns' events up to ``n_events`` (same per-event content, bigger buffers)."""
    import numpy as np

    from trigkit.emulator.columns import Columns

    reps = -(-n_events // cols.n_events)

    def tile_off(off):  # noqa: ANN001, ANN202
        counts = np.tile(np.diff(off), reps)[:n_events]
        out = np.zeros(n_events + 1, dtype=np.int64)
        np.cumsum(counts, out=out[1:])
        return out

    jo, fo = tile_off(cols.jet_offsets), tile_off(cols.fat_offsets)
    nj, nf = int(jo[-1]), int(fo[-1])

    def t1(a, n):  # noqa: ANN001, ANN202
        return np.ascontiguousarray(np.tile(a, reps)[:n]) if len(a) else a

    def t2(a, n):  # noqa: ANN001, ANN202
        return np.ascontiguousarray(np.tile(a, (1, reps))[:, :n]) if a.shape[1] else a

    return Columns(
        n_events,
        jo,
        t1(cols.jet_pt, nj),
        t1(cols.jet_eta, nj),
        t2(cols.jet_scores, nj),
        fo,
        t1(cols.fat_pt, nf),
        t1(cols.fat_eta, nf),
        t1(cols.fat_msd, nf),
        t2(cols.fat_scores, nf),
    )


def _best(fn, repeats: int) -> tuple[float, Any]:  # noqa: ANN001
    best, _, out = _best_cpu(fn, repeats)
    return best, out


def _best_cpu(fn, repeats: int) -> tuple[float, float, Any]:  # noqa: ANN001
    """Best wall and best CPU (this thread) time of ``repeats`` calls, and the last result."""
    return _best_cpu_alternating([fn], repeats)[0]


def _best_cpu_alternating(fns: list, repeats: int) -> list[tuple[float, float, Any]]:
    """:func:`_best_cpu` of each of ``fns``, called in turn within each repeat (so a load
    change on the machine hits them alike)."""
    best = [[float("inf"), float("inf"), None] for _ in fns]
    for _ in range(repeats):
        for b, fn in zip(best, fns, strict=True):
            t0, c0 = time.perf_counter(), time.thread_time()
            b[2] = fn()
            b[0], b[1] = min(b[0], time.perf_counter() - t0), min(b[1], time.thread_time() - c0)
    return [(b[0], b[1], b[2]) for b in best]


def run_benchmark(
    menu_name: str = "run3_hh4b",
    n_events: int = 4_000_000,
    awkward_events: int = 100_000,
    n_base: int = 20_000,
    repeats: int = 5,
    seed: int = 1,
) -> EmulatorBenchResult:
    import numba
    import numpy as np

    from trigkit.core.errors import TrigkitError
    from trigkit.emulator.columns import columns_from_batch
    from trigkit.emulator.compiled import compile_menu
    from trigkit.emulator.engine.onepass import choose_backend, run_numba
    from trigkit.emulator.engine.onepass import run_onepass as run_fused
    from trigkit.emulator.engine.reference import run_reference_events
    from trigkit.emulator.schema import load_menu

    menu = load_menu(menu_name)
    cmenu = compile_menu(menu)
    base = _base_events(n_base, seed)
    sub = base[: min(awkward_events, len(base))] if awkward_events <= len(base) else base
    base_cols = columns_from_batch(base, cmenu)
    cols = _tile(base_cols, n_events)
    # awkward contender on a tiled awkward batch of awkward_events
    from trigkit.events.batch import EventBatch

    reps = -(-awkward_events // len(base))
    sub = (
        EventBatch.concatenate([base] * reps)[:awkward_events]
        if reps > 1
        else base[:awkward_events]
    )
    run_fused(cmenu, cols, 1)  # compile / warm up
    run_numba(cmenu, cols, 1)
    choice = choose_backend(cmenu, cols)
    t_vec, vec = _best(
        lambda: run_reference_events(menu, sub.jets, sub.fatjets), max(1, repeats // 2)
    )
    sub_fused = run_fused(cmenu, columns_from_batch(sub, cmenu))
    identical = bool(np.array_equal(sub_fused, vec))
    (t1, c1, out), (tn, cn, out_numba) = _best_cpu_alternating(
        [lambda: run_fused(cmenu, cols, 1), lambda: run_numba(cmenu, cols, 1)], repeats
    )
    identical &= bool(np.array_equal(out, out_numba))
    threads = numba.config.NUMBA_NUM_THREADS
    tall, out_all = _best(lambda: run_fused(cmenu, cols, threads), repeats)
    identical &= bool(np.array_equal(out, out_all))
    if not identical:
        raise TrigkitError("bench emulator: fused, numba and awkward decisions differ")
    from trigkit.benchmarks.memory_floor import (
        kernel_nbytes,
        numpy_floor_s,
        skeleton_s,
        stream_floor_s,
    )
    from trigkit.benchmarks.provenance import provenance

    careful = _careful_contenders(menu, cmenu, sub, base_cols, sub_fused, n_events, repeats)
    floor, _ = numpy_floor_s(cols, cmenu, repeats)
    stream, _ = stream_floor_s(cols, cmenu, repeats)
    skeleton, _ = skeleton_s(cols, cmenu, repeats)
    res = EmulatorBenchResult(
        menu=menu.name,
        n_events=n_events,
        awkward_events=len(sub),
        n_triggers=out.shape[1],
        bytes_per_event=kernel_nbytes(cols, cmenu) / n_events,
        threads=threads,
        fused_1thread_s=t1,
        fused_1thread_cpu_s=c1,
        perpath_1thread_s=None,
        perpath_1thread_cpu_s=None,
        fused_all_s=tall,
        awkward_s=t_vec,
        identical=identical,
        accept_fraction={
            n: float(f) for n, f in zip(cmenu.trigger_names, out.mean(axis=0), strict=True)
        },
        awkward_careful_s=careful[0],
        numpy_events=careful[1],
        numpy_s=careful[2],
        memory_floor_s=floor,
        stream_floor_s=stream,
        skeleton_s=skeleton,
        backend=choice.name,
        backend_reason=choice.reason,
        numba_1thread_s=tn,
        numba_1thread_cpu_s=cn,
    )
    return replace(res, provenance=provenance(res.thread_counts()))


def _careful_contenders(menu, cmenu, sub, base_cols, sub_fused, n_events: int, repeats: int):  # noqa: ANN001, ANN202
    """(careful awkward time on ``sub``, numpy events, numpy time); decisions checked equal."""
    import numpy as np

    from trigkit.benchmarks.emulator_baselines import run_awkward_careful, run_numpy
    from trigkit.core.errors import TrigkitError
    from trigkit.emulator.engine.onepass import run_onepass as run_fused

    t_aw, aw = _best(lambda: run_awkward_careful(menu, sub.jets, sub.fatjets), max(1, repeats // 2))
    n_np = min(n_events, NUMPY_EVENTS)
    np_cols = _tile(base_cols, n_np)
    t_np, dec = _best(
        lambda: run_numpy(menu, np_cols, cmenu.jet_fields, cmenu.fatjet_fields),
        max(1, repeats // 2),
    )
    if not (np.array_equal(aw, sub_fused) and np.array_equal(dec, run_fused(cmenu, np_cols, 1))):
        raise TrigkitError("bench emulator: careful awkward / numpy and fused decisions differ")
    return t_aw, n_np, t_np


def bench_emulator(
    menu: str = typer.Option("run3_hh4b", "--menu", help="Menu file or shipped menu name."),
    events: int = typer.Option(4_000_000, "--events", help="Events for the fused pass (tiled)."),
    awkward_events: int = typer.Option(
        100_000, "--awkward-events", help="Events for the awkward contenders."
    ),
    base: int = typer.Option(
        20_000, "--base", help="Distinct generated events (tiled up to --events)."
    ),
    repeats: int = typer.Option(5, "--repeats", help="Best of N timings."),
    out: Path = typer.Option(Path("bench/results/emulator.json"), "--out", help="JSON output."),
    allow_older: bool = typer.Option(
        False, "--allow-older", help="Replace a result made by newer or unrelated code."
    ),
) -> None:
    """Fused numba menu pass vs awkward and numpy implementations (identical decisions asserted)."""
    from rich.console import Console

    from trigkit.benchmarks.provenance import check_overwrite, write_result

    check_overwrite(out, allow_older)  # before minutes of work, not after
    with Console().status("benchmarking the menu emulator..."):
        res = run_benchmark(menu, events, awkward_events, base, repeats)
    write_result(out, res.to_json(), allow_older)
    console = Console()
    console.print(summary_table(res))
    console.print(floor_line(res))
    console.print(
        f"decisions identical: {res.identical}; goals: >= {GOAL_SPEEDUP:.0f}x awkward, "
        f">= {GOAL_EVENTS_PER_S_PER_CORE / 1e6:.0f} M events/s per core; JSON: {out}"
    )


def floor_line(res: EmulatorBenchResult) -> str:
    """The fused pass against both reads of its bytes (numpy, and numba streaming them)."""
    mb = res.bytes_per_event * res.n_events / 1e6
    numba = (
        f"; the numba kernel: {res.numba_memory_floor_fraction:.0%} of the numpy read "
        f"({res.numba_1thread_s / res.fused_1thread_s:.2f}x the {res.backend} kernel's time)"
        if res.backend != "numba"
        else f" (numba kernel: {res.backend_reason})"
    )
    return (
        f"memory floor: the 1-thread fused pass ({_backend_label(res)}) runs at "
        f"{res.memory_floor_fraction:.0%} of a numpy "
        f"read of the same {mb:.0f} MB (goal >= {GOAL_MEMORY_FLOOR_FRACTION:.0%}) and at "
        f"{res.stream_floor_fraction:.0%} of a numba read streaming them "
        f"({res.bytes_per_event * res.n_events / res.stream_floor_s / 1e9:.1f} GB/s vs numpy "
        f"{res.bytes_per_event * res.n_events / res.memory_floor_s / 1e9:.1f} GB/s); the kernel's "
        f"loop skeleton alone (per-event jet loops, empty body) runs at "
        f"{res.skeleton_floor_fraction:.0%} of the numpy read{numba}"
    )


def _backend_label(res: EmulatorBenchResult) -> str:
    return "C, AVX-512 lanes" if res.backend == "c" else res.backend


def summary_table(res: EmulatorBenchResult):  # noqa: ANN201
    """One row per contender: events/s, per core, and the fused pass's per-core ratio to it."""
    from rich.table import Table

    t = Table(
        title=f"trigkit bench emulator: {res.menu} ({res.n_triggers} triggers, "
        f"{res.bytes_per_event:.0f} B/event); ratios per core, same threads on both sides"
    )
    for c in (
        "contender",
        "threads",
        "events",
        "best time (s)",
        "M events/s",
        "per core",
        "fused/core vs it",
    ):
        t.add_column(c, justify="left" if c == "contender" else "right")
    fused = res.fused_per_core
    rows = [
        ("awkward, naive (reference)", 1, res.awkward_events, res.awkward_s),
        ("awkward, careful", 1, res.awkward_events, res.awkward_careful_s),
        ("numpy, flat buffers", 1, res.numpy_events, res.numpy_s),
        (f"one-pass {_backend_label(res)}", 1, res.n_events, res.fused_1thread_s),
        (f"one-pass {_backend_label(res)}", res.threads, res.n_events, res.fused_all_s),
    ]
    if res.backend != "numba":
        rows.append(("one-pass numba (fallback)", 1, res.n_events, res.numba_1thread_s))
    for name, threads, n, secs in rows:
        rate = n / secs
        t.add_row(
            name,
            str(threads),
            f"{n:,}",
            f"{secs:.3f}",
            f"{rate / 1e6:.2f}",
            f"{rate / threads / 1e6:.2f}",
            f"{fused / (rate / threads):.1f}x",
        )
    return t


def register(app: typer.Typer) -> None:
    app.command("emulator")(bench_emulator)
