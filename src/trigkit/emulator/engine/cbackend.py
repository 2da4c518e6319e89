"""Compile, cache, load and call the C lane kernel (:mod:`~trigkit.emulator.engine.lanes_c`).

The source is compiled once per machine by the system compiler (``$CC``, else ``cc`` / ``gcc``
on PATH) with explicit AVX-512 flags (not ``-march=native``: the cache may be shared by hosts
of one kind, and the flags are what the host check tests; ``-mtune=native`` only schedules for
this CPU, an object tuned for another runs as correctly), into
``$TRIGKIT_CACHE/kernels_c`` (default ``~/.cache/trigkit/kernels_c``) under the hash of the
source, the flags and the compiler's version; the shared object is written to a temporary
sibling and renamed into place (:func:`trigkit.core.atomic.atomic_path`), so two processes
compiling at once never tear it. It is loaded with ctypes, whose calls release the GIL: the
chunks of events run over a thread pool, ``n_threads`` at a time (each chunk's decisions depend
on its events only, so they are the same for any thread count).

Anything missing (a host without AVX-512 f/bw/vl/dq, vpopcntdq and bmi2; no compiler; a
compile error; a cached object that does not load and does not rebuild) raises
:class:`CBackendUnavailable` with one line saying why; the caller
(:mod:`~trigkit.emulator.engine.onepass`) then runs the numba kernel.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trigkit.core.atomic import atomic_path
from trigkit.core.cache_dir import writable_dir
from trigkit.core.errors import TrigkitError
from trigkit.emulator.columns import Columns
from trigkit.emulator.compiled import CompiledMenu
from trigkit.emulator.engine.lanes_c import ENTRY, LaneSource, generate_lane_source, unsupported
from trigkit.emulator.engine.plan import OnePassPlan

FLAGS = (
    "-O3",
    "-std=c11",
    "-mavx512f",
    "-mavx512bw",
    "-mavx512vl",
    "-mavx512dq",
    "-mavx512vpopcntdq",
    "-mbmi2",
    "-mpopcnt",
    "-mtune=native",  # scheduling for this CPU only (no new instructions): ~1.5 % on Zen 4
    "-fno-fast-math",
    "-ffp-contract=off",  # no fused multiply-adds: every sum and product rounded as numba's
    "-fPIC",
    "-shared",
)
HOST_FEATURES = ("avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512vpopcntdq", "bmi2")
COMPILE_TIMEOUT_S = 120
_LOADED: dict[str, CKernel] = {}  # by source: loaded once per process
_FAILED: dict[str, str] = {}  # by source: why it did not build or load (not retried)


def clear_caches() -> None:
    """Forget the kernels loaded, failures seen and compiler versions (tests)."""
    _LOADED.clear()
    _FAILED.clear()
    compiler_version.cache_clear()


class CBackendUnavailable(TrigkitError):
    """The C lane kernel cannot run here (the message says why, in one line)."""


def cache_dir() -> Path:
    root = Path(os.environ.get("TRIGKIT_CACHE") or Path.home() / ".cache" / "trigkit")
    return writable_dir(root / "kernels_c", "trigkit-kernels-c")


@functools.cache
def host_missing() -> tuple[str, ...]:
    """The CPU features the kernel needs that this host lacks (empty: it has them all)."""
    from llvmlite import binding

    features = binding.get_host_cpu_features()
    return tuple(f for f in HOST_FEATURES if not features.get(f, False))


def find_compiler() -> str | None:
    """``$CC``, else ``cc`` or ``gcc`` on PATH (None: none found)."""
    env = os.environ.get("CC")
    if env:
        return shutil.which(env)
    return shutil.which("cc") or shutil.which("gcc")


@functools.cache
def compiler_version(cc: str) -> str:
    try:
        run = subprocess.run(
            [cc, "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise CBackendUnavailable(f"C compiler {cc} does not run: {exc}") from exc
    if run.returncode != 0:
        raise CBackendUnavailable(f"C compiler {cc} --version exited {run.returncode}")
    return run.stdout.strip()


def _compile(cc: str, src: str, dest: Path) -> None:
    """Compile ``src`` into ``dest`` atomically (temporary sibling, then rename)."""
    with tempfile.TemporaryDirectory(prefix="trigkit-c-") as tmp:
        c_file = Path(tmp) / "lanes.c"
        c_file.write_text(src)
        with atomic_path(dest, suffix=".so") as out:
            try:
                run = subprocess.run(
                    [cc, *FLAGS, "-o", str(out), str(c_file), "-lm"],
                    capture_output=True,
                    text=True,
                    timeout=COMPILE_TIMEOUT_S,
                    check=False,
                )
            except (OSError, subprocess.SubprocessError) as exc:
                raise CBackendUnavailable(f"C compiler {cc} failed to run: {exc}") from exc
            if run.returncode != 0:
                first = (run.stderr.strip().splitlines() or ["no message"])[0]
                raise CBackendUnavailable(
                    f"C compiler {cc} exited {run.returncode} on the lane kernel: {first}"
                )


def _load(path: Path) -> ctypes.CDLL:
    lib = ctypes.CDLL(str(path))
    fn = getattr(lib, ENTRY)
    fn.restype = ctypes.c_int
    fn.argtypes = [ctypes.c_int64] * 4 + [ctypes.c_void_p] * 4 + [ctypes.c_int64]
    fn.argtypes += [ctypes.c_void_p] * 5 + [ctypes.c_int64] + [ctypes.c_void_p] * 4
    fn.argtypes += [ctypes.c_int64] + [ctypes.c_void_p] * 2
    return lib


@dataclass(frozen=True)
class CKernel:
    """A loaded lane kernel: its library, constants and number of decision columns."""

    lib: ctypes.CDLL
    consts: np.ndarray
    n_triggers: int
    path: Path

    def __call__(self, cols: Columns, out: np.ndarray, chunk: int, n_threads: int) -> None:
        """Fill ``out`` (bool, (n_events, n_triggers), C order) from ``cols``, ``n_threads``
        chunk ranges at a time."""
        n = cols.n_events
        if n == 0:
            return
        arrays = [
            np.ascontiguousarray(a)
            for a in (cols.jet_offsets, cols.jet_pt, cols.jet_eta, cols.jet_scores)
        ]
        fat = [
            np.ascontiguousarray(a)
            for a in (cols.fat_offsets, cols.fat_pt, cols.fat_eta, cols.fat_msd, cols.fat_scores)
        ]
        jo, pt, eta, sc = arrays
        l1 = [np.ascontiguousarray(a) for a in (*cols.l1_buffers(), cols.l1_score_buffer())]
        lptr = [a.ctypes.data for a in l1]
        lsc = l1[3]
        fo, fpt, feta, fmsd, fsc = fat
        fn = getattr(self.lib, ENTRY)
        n_chunks = (n + chunk - 1) // chunk
        n_parts = min(n_chunks, max(1, n_threads) * 4)
        bounds = [n_chunks * i // n_parts for i in range(n_parts + 1)]
        ptr = [a.ctypes.data for a in (jo, pt, eta, sc)]
        fptr = [a.ctypes.data for a in (fo, fpt, feta, fmsd, fsc)]

        def run(i: int) -> int:
            return fn(
                bounds[i],
                bounds[i + 1],
                chunk,
                n,
                *ptr,
                sc.shape[1] if sc.ndim == 2 else 0,
                *fptr,
                fsc.shape[1] if fsc.ndim == 2 else 0,
                *lptr,
                lsc.shape[1] if lsc.ndim == 2 else 0,
                self.consts.ctypes.data,
                out.ctypes.data,
            )

        if n_threads <= 1:
            codes = [run(i) for i in range(n_parts)]
        else:
            with ThreadPoolExecutor(max_workers=n_threads) as pool:
                codes = list(pool.map(run, range(n_parts)))
        if any(codes):
            raise MemoryError("C lane kernel: out of memory for a chunk's large-R counts")


def load_c_kernel(cm: CompiledMenu, plan: OnePassPlan) -> CKernel:
    """The compiled lane kernel of ``cm`` for ``plan`` (compiled once per machine, cached);
    :class:`CBackendUnavailable` when it cannot run here."""
    missing = host_missing()
    if missing:
        raise CBackendUnavailable(f"the CPU lacks {', '.join(missing)}")
    why = unsupported(cm, plan)
    if why:
        raise CBackendUnavailable(f"menu {cm.menu.name!r}: {why}")
    src: LaneSource = generate_lane_source(cm, plan)
    if src.text in _LOADED:
        return _LOADED[src.text]
    if src.text in _FAILED:
        raise CBackendUnavailable(_FAILED[src.text])
    try:
        _LOADED[src.text] = _build(src)
    except CBackendUnavailable as exc:
        _FAILED[src.text] = str(exc)
        raise
    return _LOADED[src.text]


def cached_path(src: LaneSource, cc: str) -> Path:
    """Where ``src``'s shared object is cached: the hash of the source, flags and compiler."""
    key_text = "\n".join([src.text, " ".join(FLAGS), compiler_version(cc)])
    key = hashlib.sha256(key_text.encode()).hexdigest()[:24]
    return cache_dir() / f"trigkit_lanes_{key}.so"


def _build(src: LaneSource) -> CKernel:
    """Load ``src``'s shared object from the cache, compiling it first when absent or broken."""
    cc = find_compiler()
    if cc is None:
        raise CBackendUnavailable("no C compiler ($CC, cc or gcc on PATH)")
    path = cached_path(src, cc)
    lib = None
    if path.exists():
        try:
            lib = _load(path)
        except (OSError, AttributeError):
            lib = None  # corrupt or foreign: rebuilt below
    if lib is None:
        _compile(cc, src.text, path)
        try:
            lib = _load(path)
        except (OSError, AttributeError) as exc:
            raise CBackendUnavailable(f"compiled lane kernel {path} does not load: {exc}") from exc
    return CKernel(lib, src.consts, src.n_triggers, path)
