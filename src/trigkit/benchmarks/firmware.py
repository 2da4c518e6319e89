"""`trigkit bench firmware` and `trigkit bench firmware-rtl`.

``firmware``: the numba :class:`~trigkit.firmware.emulate.FirmwareEmulator` ``predict`` against
hls4ml's compiled C simulation ``predict()`` on the same inputs (default 100 000, jet-tagger size
16->64->32->32->5 with softmax, random on-grid weights, edge/NaN/Inf inputs included). Both are
timed in one process (best of ``repeats``, after a warm-up that compiles numba), their outputs
are compared bit for bit, and the throughput ratio is reported (goal >= 20x). The C simulation
runs on one thread; the emulator is timed on all numba threads and on one, so the ratio is also
reported per core (``speedup_per_core``: both sides on one thread).

``firmware-rtl``: the RTL path on the jet-tagger-size network with 6-bit weights and
activations - latency (cycles, ns at the clock) and II measured by Verilator, bit-exact with the
emulator, LUT/FF/DSP from yosys ``synth_xilinx`` - next to the analytic estimate and the 6-bit
QKeras hls4ml reference (63k LUT, 38 DSP on a VU9P).
"""

from __future__ import annotations

import contextlib
import os
import platform
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import typer

HLS4ML_6BIT_LUT, HLS4ML_6BIT_DSP = 63_000, 38  # the reference (QKeras 6-bit, VU9P)


@dataclass(frozen=True)
class FirmwareBenchResult:
    n_inputs: int
    repeats: int
    emulator_s: float
    hls4ml_s: float
    mismatching_samples: int
    emulator_first_call_s: float
    network: str
    special_inputs_checked: int = 2000  # NaN/Inf-containing inputs compared bit for bit, untimed
    emulator_1thread_s: float = float("nan")
    threads: int = 1  # numba threads of the emulator_s timing
    # CPU seconds (process time) of the same best-of runs: what a loaded box does not inflate
    emulator_1thread_cpu_s: float = float("nan")
    hls4ml_cpu_s: float = float("nan")
    provenance: dict[str, Any] | None = None

    @property
    def emulator_per_s(self) -> float:
        return self.n_inputs / self.emulator_s

    @property
    def hls4ml_per_s(self) -> float:
        return self.n_inputs / self.hls4ml_s

    @property
    def speedup(self) -> float:
        return self.hls4ml_s / self.emulator_s

    @property
    def speedup_per_core(self) -> float:
        """Emulator on one thread vs the single-threaded C simulation."""
        return self.hls4ml_s / self.emulator_1thread_s

    @property
    def speedup_per_core_cpu(self) -> float:
        """As :attr:`speedup_per_core`, from CPU seconds instead of wall seconds."""
        return self.hls4ml_cpu_s / self.emulator_1thread_cpu_s

    def thread_counts(self) -> dict[str, int]:
        return {"emulator": self.threads, "emulator_1thread": 1, "hls4ml": 1}

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {
            "emulator_per_s": self.emulator_per_s,
            "hls4ml_per_s": self.hls4ml_per_s,
            "speedup": self.speedup,
            "emulator_1thread_per_s": self.n_inputs / self.emulator_1thread_s,
            "speedup_per_core": self.speedup_per_core,
            "speedup_per_core_cpu": self.speedup_per_core_cpu,
            "speedup_all_threads_per_core": self.speedup / self.threads,
            "thread_counts": self.thread_counts(),
            "machine": machine_info(),
        }


def machine_info() -> dict[str, Any]:
    import numba
    import numpy

    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "numpy": numpy.__version__,
        "numba": numba.__version__,
    }
    try:
        import hls4ml

        info["hls4ml"] = hls4ml.__version__
    except ImportError:
        pass
    return info


def _best_of(fn: Any, repeats: int) -> tuple[float, Any]:
    best, _, out = _best_of_cpu(fn, repeats)
    return best, out


def _best_of_cpu(fn: Any, repeats: int) -> tuple[float, float, Any]:
    """(best wall seconds, best process CPU seconds, last output) over ``repeats`` calls."""
    best, best_cpu, out = float("inf"), float("inf"), None
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    return best, best_cpu, out


@contextlib.contextmanager
def _c_stdout_silenced() -> Iterator[None]:
    """Send file descriptors 1 and 2 (where compiled C++ prints; ap_fixed warns on stderr) to
    /dev/null for a while."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    devnull = os.open(os.devnull, os.O_WRONLY)
    import ctypes

    libc = ctypes.CDLL(None)
    try:
        for fd in saved:
            os.dup2(devnull, fd)
        yield
    finally:
        libc.fflush(None)  # C stdio buffers what it printed; drop it while fd 1 is /dev/null
        for fd, copy in saved.items():
            os.dup2(copy, fd)
            os.close(copy)
        os.close(devnull)


def run_firmware_bench(
    n: int = 100_000, repeats: int = 3, work_dir: Path | None = None, seed: int = 0
) -> FirmwareBenchResult:
    """Time emulator vs hls4ml C simulation on the same ``n`` inputs and compare the outputs."""
    import tempfile
    import warnings

    import numpy as np

    from trigkit.firmware.emulate import FirmwareEmulator
    from trigkit.firmware.hls4ml import build_csim, convert
    from trigkit.fixedpoint.random_net import edge_inputs, random_network

    net = random_network(seed=seed)
    work = Path(work_dir) if work_dir else Path(tempfile.mkdtemp(prefix="trigkit-bench-fw-"))
    hls_model = convert(net, work / "hls4ml_prj")
    build_csim(hls_model)
    # timed inputs: random + representable extremes + saturating values, all finite (hls4ml's
    # C simulation prints a warning line per NaN, which would slow it down unfairly); NaN/Inf
    # inputs are checked bit for bit separately, untimed
    x_all = edge_inputs(net, n + 2000, seed=seed + 1)
    x = np.ascontiguousarray(np.where(np.isfinite(x_all[:n]), x_all[:n], net.input_t.max))
    x_special = np.ascontiguousarray(x_all[n:])
    emu = FirmwareEmulator(net)
    t0 = time.perf_counter()
    emu.predict(x[:10])  # numba compile (or cache load), reported separately
    first = time.perf_counter() - t0

    def hls_predict(inputs: Any) -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.asarray(hls_model.predict(inputs), dtype=np.float64).reshape(len(inputs), -1)

    t_emu, y_emu = _best_of(lambda: emu.predict(x), repeats)
    t_one, c_one, y_one = _one_thread(lambda: _best_of_cpu(lambda: emu.predict(x), repeats))
    t_hls, c_hls, y_hls = _best_of_cpu(lambda: hls_predict(x), repeats)
    bad = int(np.count_nonzero(np.any(y_emu != y_hls, axis=1) | np.any(y_one != y_hls, axis=1)))
    with _c_stdout_silenced():  # one "assign NaN" line per NaN from the C simulation
        y_special = hls_predict(x_special)
    bad += int(np.count_nonzero(np.any(emu.predict(x_special) != y_special, axis=1)))
    sizes = "->".join(
        [str(net.n_inputs)] + [str(lay.n_out) for lay in net.layers if lay.kind == "dense"]
    )
    from trigkit.benchmarks.provenance import provenance

    res = FirmwareBenchResult(
        n,
        repeats,
        t_emu,
        t_hls,
        bad,
        first,
        f"{net.name} {sizes} + softmax",
        emulator_1thread_s=t_one,
        threads=_numba_threads(),
        emulator_1thread_cpu_s=c_one,
        hls4ml_cpu_s=c_hls,
    )
    return replace(res, provenance=provenance(res.thread_counts()))


def _numba_threads() -> int:
    import numba

    return int(numba.get_num_threads())


def _one_thread(fn: Any) -> Any:
    """``fn()`` with numba's parallel loops on one thread."""
    import numba

    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        return fn()
    finally:
        numba.set_num_threads(previous)


def jet_tagger_6bit(sizes: tuple[int, ...] = (16, 64, 32, 32, 5), **kw: Any) -> Any:
    """The jet-tagger benchmark network, 16->64->32->32->5 by default, 6-bit weights and
    activations (``kw``: more :func:`~trigkit.fixedpoint.random_net.random_network` options)."""
    from trigkit.fixedpoint.fixed import FixedType
    from trigkit.fixedpoint.random_net import random_network

    return random_network(
        sizes,
        **kw,
        input_t=FixedType(16, 6, True, "AP_RND", "AP_SAT"),
        weight_t=FixedType(6, 1),
        bias_t=FixedType(6, 1),
        accum_t=FixedType(28, 12),
        act_t=FixedType(6, 0, False, "AP_RND", "AP_SAT"),
        logit_t=FixedType(16, 6),
    )


def run_rtl_bench(
    work_dir: Path | None = None,
    latency_cutoff: float = 5.0,
    synth: bool = True,
    sparsity: float = 0.0,
) -> dict[str, Any]:
    """RTL flow on the 6-bit jet tagger; returns a JSON-able record with the estimate beside it."""
    import numpy as np

    from trigkit.firmware.estimate import estimate_network
    from trigkit.firmware.rtl.flow import run_rtl_flow
    from trigkit.firmware.rtl.options import RtlOptions

    net = jet_tagger_6bit()
    if sparsity > 0:
        rng = np.random.default_rng(1)
        layers = []
        for layer in net.layers:
            if layer.kind == "dense":
                w = layer.weight.copy()
                w[rng.random(w.shape) < sparsity] = 0.0
                layer = type(layer)(**{**layer.__dict__, "weight": w})
            layers.append(layer)
        net = net.with_(layers=tuple(layers))
    t0 = time.perf_counter()
    rep = run_rtl_flow(net, work_dir, RtlOptions(cutoffs=(latency_cutoff,)), synth=synth)
    est = estimate_network(net)
    return {
        "network": "16->64->32->32->5 + softmax, 6-bit weights/activations",
        "sparsity": sparsity,
        "latency_cutoff": latency_cutoff,
        "wall_s": time.perf_counter() - t0,
        "rtl": rep.to_json(),
        "estimate": {
            "latency_cycles": est.latency_cycles,
            "latency_ns": est.latency_ns,
            "ii": est.ii,
            "lut": est.total("lut"),
            "ff": est.total("ff"),
            "dsp": est.total("dsp"),
        },
        "reference_hls4ml_6bit": {"lut": HLS4ML_6BIT_LUT, "dsp": HLS4ML_6BIT_DSP},
        "machine": machine_info(),
    }


def _firmware_cmd(
    n: int = typer.Option(100_000, "--n", help="Number of inputs."),
    repeats: int = typer.Option(3, "--repeats", help="Timed repetitions (best is kept)."),
    json_out: Path | None = typer.Option(None, "--json", help="Write the result as JSON."),
    work_dir: Path | None = typer.Option(None, "--work-dir", help="Where the hls4ml project goes."),
    allow_older: bool = typer.Option(
        False, "--allow-older", help="Replace a --json result made by newer or unrelated code."
    ),
) -> None:
    """Bit-exact emulator vs hls4ml C simulation: same outputs, throughput ratio (goal >= 20x)."""
    from rich.console import Console
    from rich.table import Table

    from trigkit.benchmarks.provenance import check_overwrite, write_result

    if json_out:
        check_overwrite(json_out, allow_older)
    with Console(stderr=True).status("building the hls4ml C simulation and timing..."):
        res = run_firmware_bench(n, repeats, work_dir)
    t = Table(title=f"firmware emulation, {res.network}, {n} inputs (best of {repeats})")
    for col in ("contender", "threads", "seconds", "inputs / s", "per core", "bit-exact"):
        t.add_column(col, justify="right" if col != "contender" else "left")
    ok = "yes" if res.mismatching_samples == 0 else f"NO ({res.mismatching_samples} differ)"
    for name, threads, secs, exact in (
        ("trigkit FirmwareEmulator (numba)", res.threads, res.emulator_s, ok),
        ("trigkit FirmwareEmulator (numba)", 1, res.emulator_1thread_s, ok),
        ("hls4ml predict (C simulation)", 1, res.hls4ml_s, "reference"),
    ):
        rate = n / secs
        t.add_row(
            name, str(threads), f"{secs:.4f}", f"{rate:,.0f}", f"{rate / threads:,.0f}", exact
        )
    t.add_row("speedup", "", f"{res.speedup:.1f}x", "goal >= 20x", "", "")
    t.add_row("speedup per core (1 thread each)", "", f"{res.speedup_per_core:.1f}x", "", "", "")
    Console().print(t)
    print(
        f"speedup per core on CPU seconds: {res.speedup_per_core_cpu:.1f}x (hls4ml "
        f"{res.hls4ml_cpu_s:.4f} CPU-s / emulator {res.emulator_1thread_cpu_s:.4f} CPU-s)"
    )
    if json_out:
        write_result(json_out, res.to_json(), allow_older)


def _rtl_cmd(
    json_out: Path | None = typer.Option(None, "--json", help="Write the result as JSON."),
    work_dir: Path | None = typer.Option(None, "--work-dir", help="Where the RTL project goes."),
    latency_cutoff: float = typer.Option(
        5.0, "--latency-cutoff", help="Adder delays per pipeline stage."
    ),
    sparsity: float = typer.Option(0.0, "--sparsity", help="Fraction of weights pruned at random."),
    no_synth: bool = typer.Option(False, "--no-synth", help="Skip yosys."),
    allow_older: bool = typer.Option(
        False, "--allow-older", help="Replace a --json result made by newer or unrelated code."
    ),
) -> None:
    """RTL path on the 6-bit jet tagger: Verilator latency/II, yosys LUT/FF/DSP vs the estimate."""
    from rich.console import Console
    from rich.table import Table

    from trigkit.benchmarks.provenance import check_overwrite, provenance, write_result

    if json_out:
        check_overwrite(json_out, allow_older)  # before minutes of work, not after
    rec = run_rtl_bench(work_dir, latency_cutoff, not no_synth, sparsity)
    rec["provenance"] = provenance({"rtl": 1})
    sim, syn, est = rec["rtl"]["sim"], rec["rtl"]["synth"], rec["estimate"]
    t = Table(title=f"RTL path: {rec['network']}, sparsity {sparsity:g}, cutoff {latency_cutoff:g}")
    for col in ("source", "latency", "II", "LUT", "FF", "DSP"):
        t.add_column(col)
    clk = sim["clock_period_ns"]
    t.add_row(
        "rtl (verilator / yosys)",
        f"{sim['latency_cycles']} cyc = {sim['latency_cycles'] * clk:g} ns",
        str(sim["ii"]),
        *(str(syn[k]) if syn else "-" for k in ("lut", "ff", "dsp")),
    )
    t.add_row(
        "estimate",
        f"{est['latency_cycles']} cyc = {est['latency_ns']:g} ns",
        str(est["ii"]),
        str(est["lut"]),
        str(est["ff"]),
        str(est["dsp"]),
    )
    t.add_row(
        "hls4ml 6-bit QKeras (reference)", "-", "-", str(HLS4ML_6BIT_LUT), "-", str(HLS4ML_6BIT_DSP)
    )
    Console().print(t)
    tim = rec["rtl"].get("timing")
    if tim:
        ok = "meets" if tim["critical_path_ns"] <= clk * (1 - tim["uncertainty"]) else "MISSES"
        Console().print(
            f"critical path {tim['critical_path_ns']:.2f} ns ({tim['logic_levels']} "
            f"levels, fmax ~{1000 / tim['critical_path_ns']:.0f} MHz; "
            f"{tim['source']}): {ok} the {clk:g} ns clock"
        )
    if json_out:
        write_result(json_out, rec, allow_older)


def register(app: typer.Typer) -> None:
    app.command("firmware")(_firmware_cmd)
    app.command("firmware-rtl")(_rtl_cmd)
