"""Driver of the AVX-512 probe (helper floor5): build, check against the numba kernel, time.

    PYTHONPATH=src python bench/notes/probe_simd/drive.py [--events N] [--repeats R]
        [--variants simd16,simd8,...] [--no-edges]

Builds hh4b_simd.c (gcc -O3 -march=native; one .so per -D variant, in $TMPDIR), checks each
variant's decisions ``np.array_equal`` to the numba kernel's (run_onepass) on the bench's events
(``_tile(_base_events(20000, 1))``, as floor4 did) and on edge cases (the adversarial columns
of tests/emulator/test_onepass_edges.py, zero-jet events, one event with very many jets, -inf
scores), then times numba / each C variant / ``numpy_floor_s`` alternated in one loop, on one
thread; min of the repeats. A probe, not a test.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numba
import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path.insert(0, str(ROOT))  # tests.emulator.test_onepass_edges

from trigkit.benchmarks.emulator import _base_events, _tile  # noqa: E402
from trigkit.benchmarks.memory_floor import (  # noqa: E402
    kernel_nbytes,
    numpy_floor_s,
    stream_floor_s,
)
from trigkit.emulator.columns import Columns, columns_from_batch  # noqa: E402
from trigkit.emulator.compiled import compile_menu  # noqa: E402
from trigkit.emulator.engine.onepass import load_kernel, run_onepass  # noqa: E402
from trigkit.emulator.schema import load_menu  # noqa: E402

# name -> (entry point, extra gcc flags)
VARIANTS = {
    "simd16": ("hh4b_simd16", []),
    "simd16_dep": ("hh4b_simd16", ["-DDEPMASK=1"]),
    "simd8_dep": ("hh4b_simd8", ["-DDEPMASK=1"]),
    "simd8": ("hh4b_simd8", []),
    "simd16_win": ("hh4b_simd16", ["-DWINDOW=1", "-DWINREG=1"]),
    "simd16_win_mem": ("hh4b_simd16", ["-DWINDOW=1"]),
    "simd16_fit": ("hh4b_simd16", ["-DWINDOW=2", "-DWINREG=1"]),
    "simd16_fit_fatvec": ("hh4b_simd16", ["-DWINDOW=2", "-DFATVEC=1", "-DWINREG=1"]),
    "fit_fatvec_pipe": ("hh4b_simd16", ["-DWINDOW=2", "-DFATVEC=1", "-DPIPE=1", "-DWINREG=1"]),
    "fit_fatvec_pipe_mem": ("hh4b_simd16", ["-DWINDOW=2", "-DFATVEC=1", "-DPIPE=1"]),
    "best_pf1": ("hh4b_simd16", ["-DWINDOW=2", "-DFATVEC=1", "-DPIPE=1", "-DPREFETCH=1"]),
    "best_pf4": ("hh4b_simd16", ["-DWINDOW=2", "-DFATVEC=1", "-DPIPE=1", "-DPREFETCH=4"]),
    "simd8w": ("hh4b_simd8w", []),
    "sorted16": ("hh4b_simd16_sorted", []),
    "t_sorted_nosteps": ("hh4b_simd16_sorted", ["-DTIMING_NO_STEPS=1"]),
    "numba_intrinsics": ("numba", []),  # numba_simd.hh4b_numba_simd (no C compiler)
    "numba_intrinsics_all_threads": ("numba", ["all threads"]),
    "t_nosteps": ("hh4b_simd16", ["-DWINDOW=2", "-DFATVEC=1", "-DTIMING_NO_STEPS=1"]),
    "t_1gather": ("hh4b_simd16", ["-DTIMING_ONLY_1GATHER=1"]),  # timing only: wrong decisions
}


def build(flags: list[str]) -> ctypes.CDLL:
    tag = "_".join(f.strip("-").replace("=", "") for f in flags) or "base"
    so = Path(tempfile.gettempdir()) / f"floor5_simd_{tag}_{os.getpid()}.so"
    cmd = ["gcc", "-O3", "-march=native", "-shared", "-fPIC", *flags, "-o", str(so)]
    subprocess.run([*cmd, str(HERE / "hh4b_simd.c")], check=True)
    return ctypes.CDLL(str(so))


def ptr(a: np.ndarray) -> ctypes.c_void_p:
    return ctypes.c_void_p(a.ctypes.data)


def c_runner(lib: ctypes.CDLL, entry: str, cols: Columns, cv: np.ndarray):  # noqa: ANN201
    fn = getattr(lib, entry)
    fn.restype = None
    n = cols.n_events
    fo = cols.fat_offsets
    fn_buf = np.zeros(int(fo[-1]) + 1, np.int32)  # large enough for any chunk
    jo = np.ascontiguousarray(cols.jet_offsets, dtype=np.int64)
    args = [jo, cols.jet_pt, cols.jet_eta, np.ascontiguousarray(cols.jet_scores[0])]
    args += [fo, cols.fat_pt, cols.fat_eta, cols.fat_msd, np.ascontiguousarray(cols.fat_scores[0])]
    keep = (args, fn_buf, cv)

    def run() -> np.ndarray:
        out = np.empty((n, 8), dtype=np.uint8)
        fn(
            ctypes.c_int64(n),
            *[ptr(a) for a in keep[0]],
            ptr(cv),
            ptr(out),
            ptr(fn_buf),
        )
        return out.view(np.bool_)

    return run


def numba_runner(lib, entry: str, cols: Columns, cv: np.ndarray):  # noqa: ANN001, ANN201
    sys.path.insert(0, str(HERE))
    from numba_simd import hh4b_numba_simd, hh4b_numba_simd_par

    if lib == "all threads":  # the prange version on every numba thread
        args = (
            np.ascontiguousarray(cols.jet_offsets, dtype=np.int64),
            cols.jet_pt,
            cols.jet_eta,
            np.ascontiguousarray(cols.jet_scores[0]),
            cols.fat_offsets,
            cols.fat_pt,
            cols.fat_eta,
            cols.fat_msd,
            np.ascontiguousarray(cols.fat_scores[0]),
            cv,
        )

        def run_par() -> np.ndarray:
            out = np.empty((cols.n_events, 8), dtype=np.uint8)
            numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
            try:
                hh4b_numba_simd_par(*args, out)
            finally:
                numba.set_num_threads(1)
            return out.view(np.bool_)

        return run_par

    n = cols.n_events
    fn_buf = np.zeros(int(cols.fat_offsets[-1]) + 1, np.int32)
    args = (
        np.ascontiguousarray(cols.jet_offsets, dtype=np.int64),
        cols.jet_pt,
        cols.jet_eta,
        np.ascontiguousarray(cols.jet_scores[0]),
        cols.fat_offsets,
        cols.fat_pt,
        cols.fat_eta,
        cols.fat_msd,
        np.ascontiguousarray(cols.fat_scores[0]),
        cv,
    )

    def run() -> np.ndarray:
        out = np.empty((n, 8), dtype=np.uint8)
        hh4b_numba_simd(*args, out, fn_buf)
        return out.view(np.bool_)

    return run


def edge_columns(cm) -> list[tuple[str, Columns]]:  # noqa: ANN001
    from tests.emulator.test_onepass_edges import _adversarial_columns, _empty_columns

    out = [("adversarial 20001", _adversarial_columns(cm, 20001, 3))]
    out.append(("empty 37", _empty_columns(37, cm)))
    rng = np.random.default_rng(5)
    # events with many jets: one of 5000 jets among short ones, -inf scores, zero-jet events
    nj = rng.integers(0, 8, 1000)
    nj[::7] = 0
    nj[500] = 5000
    off = np.concatenate([[0], np.cumsum(nj)]).astype(np.int64)
    pt = rng.uniform(20.0, 400.0, int(off[-1])).astype(np.float32)
    for e in range(len(nj)):
        pt[off[e] : off[e + 1]] = np.sort(pt[off[e] : off[e + 1]])[::-1]
    pt[off[500] : off[500] + 4000] = np.float32(100.0)  # 4000 jets above every pt floor
    eta = rng.uniform(-3.0, 3.0, len(pt)).astype(np.float32)
    sc = rng.uniform(0, 1, len(pt)).astype(np.float32)
    sc[rng.random(len(pt)) < 0.3] = -np.inf
    nf = rng.integers(0, 3, len(nj))
    foff = np.concatenate([[0], np.cumsum(nf)]).astype(np.int64)
    m = int(foff[-1])
    fpt = rng.uniform(100, 600, m).astype(np.float32)
    feta = rng.uniform(-3, 3, m).astype(np.float32)
    fmsd = rng.uniform(0, 200, m).astype(np.float32)
    fsc = rng.uniform(-0.1, 1, m).astype(np.float32)[None]
    out.append(
        ("many jets / -inf", Columns(len(nj), off, pt, eta, sc[None], foff, fpt, feta, fmsd, fsc))
    )
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=2_000_000)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--variants", default="simd16,simd8")
    ap.add_argument("--no-edges", action="store_true")
    args = ap.parse_args()
    numba.set_num_threads(1)
    cm = compile_menu(load_menu("run3_hh4b"))
    cv = np.ascontiguousarray(load_kernel(cm).consts, dtype=np.float32)
    base = columns_from_batch(_base_events(20000, 1), cm)
    cols = _tile(base, args.events)
    libs = {}
    for name in args.variants.split(","):
        entry, flags = VARIANTS[name]
        key = tuple(flags)
        if key not in libs:
            libs[key] = flags[0] if entry == "numba" and flags else None
            libs[key] = libs[key] if entry == "numba" else build(flags)
        libs[name] = (libs[key], entry)
    ref = run_onepass(cm, cols, 1)
    runners = {}
    for name in args.variants.split(","):
        lib, entry = libs[name]
        runners[name] = (numba_runner if entry == "numba" else c_runner)(lib, entry, cols, cv)
        got = runners[name]()
        same = np.array_equal(got, ref)
        print(f"{name}: decisions equal to numba on {cols.n_events} bench events: {same}")
        if not same:
            bad = np.nonzero((got != ref).any(axis=1))[0]
            print(
                "  first differing events",
                bad[:10],
                ref[bad[:3]].astype(int),
                got[bad[:3]].astype(int),
            )
        if not args.no_edges:
            for label, ec in edge_columns(cm):
                eref = run_onepass(cm, ec, 1)
                eg = (numba_runner if entry == "numba" else c_runner)(lib, entry, ec, cv)()
                print(
                    f"  edge {label}: equal {np.array_equal(eg, eref)} (accepts {int(eref.sum())})"
                )
    nb = kernel_nbytes(cols, cm)
    print(f"{cols.n_events} events, {nb / cols.n_events:.1f} B/event; load {os.getloadavg()}")
    fns = {"numba": lambda: run_onepass(cm, cols, 1), **runners}
    if any(k.endswith("all_threads") for k in runners):
        fns["numba_all_threads"] = lambda: run_onepass(cm, cols, numba.config.NUMBA_NUM_THREADS)
    best = dict.fromkeys([*fns, "floor", "stream"], np.inf)
    cpu = dict.fromkeys(fns, np.inf)
    stream_floor_s(cols, cm, 1)  # compile, untimed
    for _ in range(args.repeats):
        for k, f in fns.items():
            t0, c0 = time.perf_counter(), time.process_time()
            f()
            best[k] = min(best[k], time.perf_counter() - t0)
            cpu[k] = min(cpu[k], time.process_time() - c0)
        best["floor"] = min(best["floor"], numpy_floor_s(cols, cm, 1)[0])
        best["stream"] = min(best["stream"], stream_floor_s(cols, cm, 1)[0])
    fl, sf = best["floor"], best["stream"]
    print(f"load after {os.getloadavg()}")
    print(f"numpy floor {fl:.4f} s, stream floor {sf:.4f} s")
    print("| variant | s | CPU s | M ev/s | numpy floor fraction | stream floor fraction |")
    for k in fns:
        print(
            f"| {k} | {best[k]:.4f} | {cpu[k]:.4f} | {cols.n_events / best[k] / 1e6:.1f} "
            f"| {fl / best[k]:.1%} | {sf / best[k]:.1%} |"
        )


if __name__ == "__main__":
    main()
