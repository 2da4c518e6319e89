"""The whole menu in ONE read of each event's jets: per-event registers, then every trigger.

For each event the kernel loops once over the event's jets (pt-ordered; the loop ends at the
first jet below :attr:`OnePassPlan.pt_floor`) and updates every register of the menu
(:mod:`trigkit.emulator.engine.plan`: the quantities its cuts read, written by the cut types of
:mod:`trigkit.emulator.cuts`: a buffer of the selected jets' pts, the HT, the top-k scores, the
selected-jet counts). The triggers are then evaluated from those registers in
:attr:`CompiledMenu.order` with the gates of :mod:`trigkit.emulator.compiled` (an HLT path or an
``any_of`` seed fires only when one of its seeds fired). Large-R jets are read once per chunk of
events, into running counts of the jets passing each distinct large-R cut. The per-jet updates
and the cuts are selects, table loads and ``&`` / ``|`` (no data-dependent jumps, which
mispredict on real events); the one jump left per event is the end of its jet loop.

The kernel is generated per menu (:mod:`trigkit.emulator.engine.codegen`: registers are scalar
locals, thresholds float32 locals), written to ``$TRIGKIT_KERNEL_CACHE`` (default
``~/.cache/trigkit/kernels``) under the hash of its source and compiled by numba with
``cache=True``, so a menu compiles once per machine.

Every decision is the reference's (:mod:`trigkit.emulator.engine.reference`): comparisons on the
float32 values use thresholds that decide exactly like the float64 comparison
(:mod:`trigkit.emulator.f32`), the HT and the top-k scores are summed in float64 in the same
order (the codegen module and each cut type say why each step is exact). No ``fastmath``: it
would let LLVM reassociate the float64 sums and assume no -inf (missing scores are -inf).

Backends: where it can, :func:`run_onepass` runs the same plan as a C kernel with one event per
AVX-512 lane (:mod:`~trigkit.emulator.engine.lanes_c`, :mod:`~trigkit.emulator.engine.cbackend`:
about twice the numba kernel's speed on one thread, identical decisions); a menu or events it
does not cover, a host without AVX-512 or a C compiler, or ``TRIGKIT_EMULATOR_BACKEND=numba``
run the numba kernel, with one log line saying why (:func:`choose_backend`).
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import sys
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numba
import numpy as np

from trigkit.core.atomic import write_text
from trigkit.core.cache_dir import writable_dir
from trigkit.core.errors import TrigkitError
from trigkit.emulator.columns import L1JETS, Columns
from trigkit.emulator.compiled import CompiledMenu
from trigkit.emulator.engine.codegen import generate_source
from trigkit.emulator.engine.plan import plan_menu

log = logging.getLogger(__name__)
CHUNK = 4096
BACKEND_ENV = "TRIGKIT_EMULATOR_BACKEND"  # "numba": never the C backend; "c": require it
Backend = Literal["c", "numba"]
_LOADED: dict[str, Kernel] = {}
_SAID: set[str] = set()  # fallback reasons already logged
# (id(cmenu), l1jets, l1_scores) -> (a weak reference to cmenu, C kernel or None, why not)
_C_FOR: dict[tuple[int, bool, bool], tuple[weakref.ref, Any, str]] = {}


def kernel_cache_dir() -> Path:
    env = os.environ.get("TRIGKIT_KERNEL_CACHE")
    base = Path(env) if env else Path.home() / ".cache" / "trigkit" / "kernels"
    return writable_dir(base, "trigkit-kernels")


@dataclass(frozen=True)
class Kernel:
    """A generated kernel and the arrays of its module it takes as arguments (thresholds and
    tables: runtime locals kept in registers, see :mod:`~trigkit.emulator.engine.codegen`)."""

    fn: Any  # the numba dispatcher
    consts: np.ndarray  # float32 thresholds C0, C1, ...
    one: np.ndarray
    cap: np.ndarray

    def __call__(self, *buffers: np.ndarray, out: np.ndarray, chunk: int) -> None:
        self.fn(*buffers, out, chunk, self.consts, self.one, self.cap)


def load_kernel(cmenu: CompiledMenu, l1jets: bool = False, l1_scores: bool = False) -> Kernel:
    """The generated one-pass kernel of ``cmenu`` (generated, written and imported once); with
    ``l1jets``, the one for events with L1 jets (L1 jet-kinematic cuts read those; with
    ``l1_scores``, the L1 score cuts too)."""
    src = generate_source(cmenu, plan_menu(cmenu, l1jets, l1_scores))
    key = hashlib.sha256(src.encode()).hexdigest()[:20]
    if key in _LOADED:
        return _LOADED[key]
    path = kernel_cache_dir() / f"trigkit_onepass_{key}.py"
    if not path.exists() or path.read_text() != src:
        write_text(path, src)
        log.debug("wrote one-pass kernel for menu %s to %s", cmenu.menu.name, path)
    name = f"trigkit_onepass_{key}"
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod  # numba's cache re-imports the module by name when loading
    spec.loader.exec_module(mod)
    _LOADED[key] = Kernel(mod.kernel, mod.CONSTS, mod.ONE, mod.CAP)
    return _LOADED[key]


@dataclass(frozen=True)
class BackendChoice:
    """The kernel :func:`run_onepass` runs for a menu and events, and why."""

    name: Backend
    reason: str  # why this backend ("" for the C one)
    ckernel: Any = None  # the loaded C kernel (cbackend.CKernel) when ``name`` is "c"


def _plan_flags(cmenu: CompiledMenu, cols: Columns) -> tuple[bool, bool]:
    return cols.l1_objects == L1JETS, cols.l1_tagger_objects == L1JETS


def choose_backend(
    cmenu: CompiledMenu, cols: Columns, backend: Backend | None = None
) -> BackendChoice:
    """The C lane kernel where it can run (compiled once, cached), else the numba kernel;
    ``backend`` (or ``$TRIGKIT_EMULATOR_BACKEND``) ``"numba"`` forces numba, ``"c"`` requires C
    (an error saying why it cannot run)."""
    want = backend or os.environ.get(BACKEND_ENV, "") or None
    if want not in (None, "auto", "c", "numba"):
        raise TrigkitError(f"{BACKEND_ENV}={want!r}: the emulator backend is one of auto, c, numba")
    if want == "numba":
        return BackendChoice("numba", f"{BACKEND_ENV} or the caller asked for numba")
    why = _c_layout_problem(cols)
    if not why:
        ck, why = _c_kernel_for(cmenu, _plan_flags(cmenu, cols))
        if ck is not None:
            return BackendChoice("c", "", ck)
    if want == "c":
        raise TrigkitError(f"emulator backend c cannot run: {why}")
    if why not in _SAID:
        _SAID.add(why)
        log.info("emulator: numba kernel (C lane kernel not used: %s)", why)
    return BackendChoice("numba", why)


def _c_kernel_for(cmenu: CompiledMenu, flags: tuple[bool, bool]) -> tuple[Any, str]:
    """(the loaded C kernel or None, why not) for ``cmenu`` (this object) and the plan flags,
    looked up once (codegen and the source lookup cost ~0.5 ms, 1 % of a 4 M-event pass)."""
    from trigkit.emulator.engine.cbackend import CBackendUnavailable, load_c_kernel

    key = (id(cmenu), *flags)
    hit = _C_FOR.get(key)
    if hit is not None and hit[0]() is cmenu:
        return hit[1], hit[2]
    try:
        ck, why = load_c_kernel(cmenu, plan_menu(cmenu, *flags)), ""
    except CBackendUnavailable as exc:
        ck, why = None, str(exc)
    _C_FOR[key] = (weakref.ref(cmenu), ck, why)
    return ck, why


def _c_layout_problem(cols: Columns) -> str:
    """Why the C kernel cannot read ``cols``' buffers as they are ("" when it can)."""
    if len(cols.jet_pt) >= 2**31 or len(cols.fat_pt) >= 2**31:
        return "2^31 or more jets (the C kernel's indices are int32)"
    f32 = (cols.jet_pt, cols.jet_eta, cols.jet_scores, cols.fat_pt, cols.fat_eta, cols.fat_msd)
    if any(a.dtype != np.float32 for a in (*f32, cols.fat_scores)):
        return "a jet buffer is not float32"
    if cols.jet_offsets.dtype != np.int64 or cols.fat_offsets.dtype != np.int64:
        return "the offsets are not int64"
    if cols.jet_scores.ndim != 2 or cols.fat_scores.ndim != 2:
        return "the score buffers are not 2-d (fields, objects)"
    return ""


def _threads(n_threads: int | None) -> int:
    n = numba.get_num_threads() if n_threads is None else n_threads
    return max(1, min(n, numba.config.NUMBA_NUM_THREADS))


def run_onepass(
    cmenu: CompiledMenu,
    cols: Columns,
    n_threads: int | None = None,
    backend: Backend | None = None,
) -> np.ndarray:
    """Raw decisions, bool (n_events, n_l1 + n_hlt), columns in :attr:`CompiledMenu.trigger_names`
    order; HLT columns include their (unprescaled) L1 seed requirement. L1 jet-kinematic cuts
    read ``cols``' L1 jets when it has them (:attr:`Columns.l1_objects`), the L1 score cuts when
    they carry the scores (:attr:`Columns.l1_tagger_objects`). Runs the kernel
    :func:`choose_backend` picks (``backend``: see there); the decisions are the same."""
    choice = choose_backend(cmenu, cols, backend)
    if choice.name == "c":
        out = np.zeros((cols.n_events, cmenu.n_l1 + cmenu.n_hlt), dtype=np.bool_)
        choice.ckernel(cols, out, CHUNK, _threads(n_threads))
        return out
    return run_numba(cmenu, cols, n_threads)


def run_numba(cmenu: CompiledMenu, cols: Columns, n_threads: int | None = None) -> np.ndarray:
    """:func:`run_onepass` on the numba kernel (the fallback and the reference of the C one)."""
    kernel = load_kernel(cmenu, *_plan_flags(cmenu, cols))
    lo, lpt, leta = cols.l1_buffers()
    out = np.zeros((cols.n_events, cmenu.n_l1 + cmenu.n_hlt), dtype=np.bool_)
    previous = numba.get_num_threads()
    if n_threads is not None:
        numba.set_num_threads(max(1, min(n_threads, numba.config.NUMBA_NUM_THREADS)))
    try:
        kernel(
            cols.jet_offsets,
            cols.jet_pt,
            cols.jet_eta,
            cols.jet_scores,
            lo,
            lpt,
            leta,
            cols.l1_score_buffer(),
            cols.fat_offsets,
            cols.fat_pt,
            cols.fat_eta,
            cols.fat_msd,
            cols.fat_scores,
            out=out,
            chunk=CHUNK,
        )
    finally:
        numba.set_num_threads(previous)
    return out
