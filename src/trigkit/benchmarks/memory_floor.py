"""The memory floor of `trigkit bench emulator`: the time a bare read of the kernel's bytes takes.

The one-pass kernel must read, for a compiled menu, exactly :func:`kernel_buffers`: the jet
offsets, pt and eta, the score rows of the fields the menu reads, the large-R buffers when the
menu cuts on large-R jets, the L1 jets when the events have them. (Not the one-row placeholder
:class:`~trigkit.emulator.columns.Columns` holds when a menu reads no score: the kernel never
touches it.) Two reads of those bytes are timed, on one thread:

* :func:`numpy_floor_s`: numpy, one ``sum`` per buffer, buffer after buffer (the floor the
  benchmark has always quoted, ``memory_floor_s``);
* :func:`stream_floor_s`: numba, one loop per collection reading all of its buffers at once
  (``pt[j] + eta[j] + score[j]``, the way the kernel streams them), one per offsets array
  (``stream_floor_s`` in the JSON). Several streams in flight
  keep more cache-line fetches outstanding than one ``sum`` at a time, so on the 2-core
  development box this read is about twice as fast as numpy's: it is the honest floor, and
  the fraction of it the kernel reaches is the stricter number.

And :func:`skeleton_s` times the kernel's loop shape with an empty body (per event, its jets up
to the first below the pt floor): ``memory_floor_s / skeleton_s`` is the most a kernel of that
shape can reach, whatever its body.

All three return their checksum too, so that a test can check every byte was read (against numpy).
The kernel also writes its decisions (n_events x n_triggers bytes); neither floor counts writes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from trigkit.emulator.columns import Columns
from trigkit.emulator.compiled import CompiledMenu


def kernel_buffers(cols: Columns, cmenu: CompiledMenu) -> tuple[np.ndarray, ...]:
    """Every array the one-pass kernel of ``cmenu`` reads from ``cols``, each once."""
    out: list[np.ndarray] = []
    if cols.l1_offsets is not None:
        out += list(cols.l1_buffers())
    if cols.l1_scores is not None:
        out += [cols.l1_scores[i] for i in range(len(cmenu.l1_jet_fields))]
    out += [cols.jet_offsets, cols.jet_pt, cols.jet_eta]
    out += [cols.jet_scores[i] for i in range(len(cmenu.jet_fields))]
    if cmenu.menu.uses_fatjets():
        out += [cols.fat_offsets, cols.fat_pt, cols.fat_eta, cols.fat_msd]
        out += [cols.fat_scores[i] for i in range(len(cmenu.fatjet_fields))]
    return tuple(out)


def kernel_nbytes(cols: Columns, cmenu: CompiledMenu) -> int:
    return sum(a.nbytes for a in kernel_buffers(cols, cmenu))


def _best(fn: Callable[[], float], repeats: int) -> tuple[float, float]:
    best, value = float("inf"), float("nan")
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - t0)
    return best, value


def numpy_floor_s(cols: Columns, cmenu: CompiledMenu, repeats: int) -> tuple[float, float]:
    """(best time, checksum) of numpy reading :func:`kernel_buffers`, one ``sum`` per buffer."""
    bufs = kernel_buffers(cols, cmenu)
    return _best(lambda: float(sum(float(a.sum(dtype=a.dtype)) for a in bufs)), repeats)


_STREAM: dict[int, Any] = {}
_ROWS_SRC = """
def rows_sum({args}):
    s = np.float32(0.0)
    for j in range(len(r0)):
        s += {terms}
    return float(s)
"""


def _rows_sum(n_rows: int) -> Any:  # noqa: ANN401 - a numba dispatcher
    """A numba function summing ``n_rows`` equal-length arrays in one loop (all streams at once;
    ``n_rows`` 1 sums int64 offsets), compiled on first use."""
    if n_rows not in _STREAM:
        from numba import njit

        names = [f"r{i}" for i in range(n_rows)]
        src = _ROWS_SRC.format(args=", ".join(names), terms=" + ".join(f"{n}[j]" for n in names))
        if n_rows == 1:
            src = src.replace("np.float32(0.0)", "0")
        scope: dict[str, Any] = {"np": np}
        exec(compile(src, f"<trigkit stream floor {n_rows}>", "exec"), scope)  # noqa: S102
        _STREAM[n_rows] = njit(fastmath=True)(scope["rows_sum"])
    return _STREAM[n_rows]


def _pass(*rows: np.ndarray) -> Callable[[], float]:
    fn = _rows_sum(len(rows))
    return lambda: fn(*rows)


def stream_floor_s(cols: Columns, cmenu: CompiledMenu, repeats: int) -> tuple[float, float]:
    """(best time, checksum) of one numba pass per collection reading all its buffers at once,
    plus one per offsets array: exactly the bytes of :func:`kernel_buffers`."""
    parts = [
        _pass(cols.jet_pt, cols.jet_eta, *cols.jet_scores[: len(cmenu.jet_fields)]),
        _pass(cols.jet_offsets),
    ]
    if cmenu.menu.uses_fatjets():
        fat_rows = cols.fat_scores[: len(cmenu.fatjet_fields)]
        parts += [
            _pass(cols.fat_pt, cols.fat_eta, cols.fat_msd, *fat_rows),
            _pass(cols.fat_offsets),
        ]
    if cols.l1_offsets is not None:
        l1off, l1pt, l1eta = cols.l1_buffers()
        l1sc = [] if cols.l1_scores is None else list(cols.l1_scores[: len(cmenu.l1_jet_fields)])
        parts += [_pass(l1pt, l1eta, *l1sc), _pass(l1off)]
    for p in parts:  # compile, untimed
        p()
    return _best(lambda: float(sum(p() for p in parts)), repeats)


_SKELETON: dict[str, Any] = {}


def _skeleton_kernel() -> Any:  # noqa: ANN401 - a numba dispatcher
    if not _SKELETON:
        from numba import njit

        @njit(cache=True)
        def skeleton(jo: np.ndarray, pt: np.ndarray, floor: np.float32) -> float:
            s = 0.0
            for e in range(len(jo) - 1):
                for j in range(jo[e], jo[e + 1]):
                    p = pt[j]
                    if p < floor:
                        break
                    s += p
            return s

        _SKELETON["fn"] = skeleton
    return _SKELETON["fn"]


def skeleton_s(cols: Columns, cmenu: CompiledMenu, repeats: int) -> tuple[float, float]:
    """(best time, checksum) of the one-pass kernel's loop shape with an empty body: per event,
    a loop over its jets ending at the first one below the menu's pt floor, summing their pt.

    No kernel of that shape beats it, so ``memory_floor_s / skeleton_s`` is the highest floor
    fraction the shape can reach (the checksum: the sum of those jets' pts, in float64)."""
    from trigkit.emulator.engine.plan import plan_menu
    from trigkit.emulator.f32 import at_least

    fn = _skeleton_kernel()
    floor = np.float32(at_least(plan_menu(cmenu).pt_floor))
    fn(cols.jet_offsets, cols.jet_pt, floor)  # compile / load from the cache, untimed
    return _best(lambda: fn(cols.jet_offsets, cols.jet_pt, floor), repeats)
