"""Stage-2 piece (helper floor5): the lane kernel GENERATED for one cut type, ``ht``.

For a compiled menu whose cuts are all ``ht`` (any jet selection, ``leading: N``, any gates),
:func:`generate_lane_source` writes a numba kernel with the vector intrinsics of
``numba_simd.py``: window-fit groups of up to 16 events (one event per lane, the 128-jet
window or gathers), the next pt read at the end of each step, and per HT register the lane
version of ``cuts/ht.py``'s update (selection mask, the leading-N counter, the float64 sum in
jet order as two 8 x f64 halves); each trigger is the same ``&`` / ``|`` of its gates and
``ht >= min`` as codegen.py writes, on 16-bit lane masks. The thresholds are codegen's float32
``Consts`` (``at_least`` / ``at_most``). Checked here against the reference engine
(``engine.reference.run_reference``) and the numba kernel on ht-only menus, over the
adversarial columns of tests/emulator/test_onepass_edges.py, zero-jet events and the bench's
events:

    PYTHONPATH=src python bench/notes/probe_simd/lane_ht.py
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[2]))

import numba_simd  # noqa: E402
from numba import njit  # noqa: E402

from trigkit.emulator.compiled import CompiledMenu  # noqa: E402
from trigkit.emulator.cuts.base import Consts, lit  # noqa: E402
from trigkit.emulator.engine.plan import OnePassPlan, plan_menu  # noqa: E402
from trigkit.emulator.f32 import at_least  # noqa: E402

G = " " * 4  # group-function body
S = " " * 8  # inside its jet-step loop


def _emit_ht(r: int, key: tuple, cs: Consts, floor: float, body: list[str], init: list[str]):  # noqa: ANN202
    """The lane update of HT register r (cuts/ht.py: ht += pd * ONE[sel], leading-N masked
    by the counter of selected jets up to and including this one)."""
    jet_pt, abs_eta, lead = key
    sel = f"fle(ae, splat_f(np.float32({cs.le(abs_eta)})))"
    if float(at_least(jet_pt)) > float(at_least(floor)):
        sel = f"mand({sel}, fge(p, splat_f(np.float32({cs.ge(jet_pt)}))))"
    body.append(f"{S}c{r} = mand(alive, {sel})")
    if lead > 0:
        init.append(f"{G}kh{r} = splat_i(0)")
        body.append(f"{S}kh{r} = sel_i2(c{r}, iadd(kh{r}, one), kh{r})")
        body.append(f"{S}c{r} = mand(c{r}, ilt(kh{r}, splat_i({lead + 1})))")
    init.append(f"{G}ht{r} = (zero_d(), zero_d())")
    body.append(f"{S}ht{r} = add_masked_pd(ht{r}, c{r}, p)")


def generate_lane_source(cm: CompiledMenu, plan: OnePassPlan) -> str:
    """Python source of the lane kernel of the ht-only menu ``cm`` (refused otherwise)."""
    keys = {row.type.key for row in cm.cuts}
    if keys - {"ht"}:
        raise ValueError(f"lane_ht: menu {cm.menu.name!r} has cut types {sorted(keys)}; ht only")
    cs = Consts()
    floor = plan.pt_floor
    init: list[str] = []
    body: list[str] = []
    for reg in plan.registers:
        _emit_ht(reg.index, reg.key, cs, floor, body, init)
    floor_c = cs.ge(floor)
    # the constants are module values (numba freezes globals), named as codegen names them
    consts = "\n".join(f"C{i} = np.float32({v})" for i, v in enumerate(cs.values))
    body_src = "\n".join(body).replace("np.float32(C", "(C")
    trig = []
    for t in (int(x) for x in cm.order):
        gate = [f"t{g}" for g in cm.gate(t)]
        first = int(cm.trig_cut_start[t])
        cuts = [
            f"ge_pd2(ht{plan.cut_reg[k]}, {lit(row.cut.min)})"
            for k, row in enumerate(cm.trigger_cuts(t), start=first)
        ]
        expr = " & ".join(([f"({' | '.join(gate)})"] if gate else []) + cuts) or "0xFFFF"
        trig.append(f"{G}t{t} = {expr}")
    n_t = cm.n_l1 + cm.n_hlt
    ret = ", ".join(f"t{t}" for t in range(n_t))
    return f"""
import numpy as np
from numba import njit
from numba_simd import (add_masked_pd, any16, fetch_gather, fetch_win, fge, fle, fnlt, ge_pd2,
    iadd, ilt, mand, mbits, sel_i2, splat_f, splat_i, trailing_ones, vrel, zero_d, fabs16)
{consts}


@njit(inline="always")
def group(fetch, pt, eta, jb, st, en):
    one = splat_i(1)
    vfloor = splat_f({floor_c})
{chr(10).join(init).replace("np.float32(C", "(C")}
    j = st
    p = fetch(pt, jb, j, en)
    alive = mand(ilt(j, en), fnlt(p, vfloor))
    while any16(alive):
        ae = fabs16(fetch(eta, jb, j, en))
{body_src}
        j = iadd(j, one)
        p = fetch(pt, jb, j, en)
        alive = mand(mand(alive, ilt(j, en)), fnlt(p, vfloor))
{chr(10).join(trig)}
    return ({ret},)


@njit
def kernel(jo, pt, eta, out):
    n = len(jo) - 1
    njets = len(pt)
    e = 0
    while e < n:
        lim = min(16, n - e)
        jb = jo[e]
        fit = mbits(ilt(vrel(jo, e + 1, jb, lim), splat_i(129))) & ((1 << lim) - 1)
        nv = trailing_ones(fit)
        win = nv > 0 and jb + 128 <= njets
        if not win:
            nv = 1
        st = vrel(jo, e, jb, nv)
        en = vrel(jo, e + 1, jb, nv)
        if win:
            bits = group(fetch_win, pt, eta, jb, st, en)
        else:
            bits = group(fetch_gather, pt, eta, jb, st, en)
        for lane in range(nv):
            for t in range({n_t}):
                out[e + lane, t] = (bits[t] >> lane) & 1
        e += nv
    return out
"""


_KERNELS: dict[str, object] = {}


def lane_kernel(cm: CompiledMenu):  # noqa: ANN201
    src = generate_lane_source(cm, plan_menu(cm))
    if src not in _KERNELS:
        scope: dict = {}
        exec(compile(src, f"<lane_ht {cm.menu.name}>", "exec"), scope)  # noqa: S102
        _KERNELS[src] = scope["kernel"]
    return _KERNELS[src]


def run_lanes(cm: CompiledMenu, cols) -> np.ndarray:  # noqa: ANN001
    out = np.zeros((cols.n_events, cm.n_l1 + cm.n_hlt), dtype=np.uint8)
    lane_kernel(cm)(np.ascontiguousarray(cols.jet_offsets), cols.jet_pt, cols.jet_eta, out)
    return out.view(np.bool_)


HT_MENU = """\
name: htonly
l1:
  L1_HT5: {ht: {min: 150, jet_pt: 15, jet_abs_eta: 2.1, leading: 5}}
  L1_HTall: {ht: {min: 150, jet_pt: 15, jet_abs_eta: 2.1}}
  L1_HT1: {ht: {min: 45, jet_pt: 30, jet_abs_eta: 2.5, leading: 1}}
  L1_HTT280: {ht: {min: 280}}
  L1_HTT360: {ht: {min: 360}}
  L1_Or: {any_of: [L1_HT5, L1_HT1], ht: {min: 100, jet_pt: 20, jet_abs_eta: 1.5, leading: 3}}
hlt:
  H_a: {seeds: [L1_HT5], ht: {min: 120, jet_pt: 25, jet_abs_eta: 2.5, leading: 4}}
  H_b: {seeds: [], ht: {min: 340}}
  H_c: {seeds: [L1_HTall, L1_Or], ht: {min: 70, jet_pt: 40, jet_abs_eta: 1.5, leading: 2}}
  H_d: {seeds: [L1_HTT280], ht: {min: 300, jet_pt: 30, jet_abs_eta: 3.0}}
"""


def main() -> None:
    from tests.emulator.test_onepass_edges import _adversarial_columns, _empty_columns

    from trigkit.benchmarks.emulator import _base_events, _tile
    from trigkit.emulator.columns import columns_from_batch
    from trigkit.emulator.compiled import compile_menu
    from trigkit.emulator.engine.onepass import run_onepass
    from trigkit.emulator.engine.reference import run_reference
    from trigkit.emulator.schema import parse_menu

    cm = compile_menu(parse_menu(HT_MENU))
    print(generate_lane_source(cm, plan_menu(cm)).split("@njit\ndef kernel")[0][-2500:])
    ok = True
    for label, cols in (
        ("adversarial 20001", _adversarial_columns(cm, 20001, 3)),
        ("adversarial 5003 (seed 11)", _adversarial_columns(cm, 5003, 11)),
        ("no jets 50", _empty_columns(50, cm)),
    ):
        ref = run_reference(cm, cols)
        got = run_lanes(cm, cols)
        same = np.array_equal(got, ref) and np.array_equal(got, run_onepass(cm, cols, 1))
        frac = ref.mean(axis=0)
        print(f"{label}: lanes == reference == numba kernel: {same}; accept fractions {frac}")
        ok &= same
    base = columns_from_batch(_base_events(20000, 1), cm)
    cols = _tile(base, 2_000_000)
    ref = run_onepass(cm, cols, 1)
    got = run_lanes(cm, cols)
    same = np.array_equal(got, ref)
    print(f"bench events 2 M: lanes == numba kernel: {same}; accept fractions {ref.mean(axis=0)}")
    ok &= same
    sub = base
    same = np.array_equal(run_lanes(cm, sub), run_reference(cm, sub))
    print(f"bench base events {sub.n_events}: lanes == reference: {same}")
    ok &= same
    best = {"numba kernel": np.inf, "lanes (generated)": np.inf}
    for _ in range(7):
        for k, f in (
            ("numba kernel", lambda: run_onepass(cm, cols, 1)),
            ("lanes (generated)", lambda: run_lanes(cm, cols)),
        ):
            t0 = time.perf_counter()
            f()
            best[k] = min(best[k], time.perf_counter() - t0)
    for k, v in best.items():
        print(f"| {k} | {v * 1e3:.1f} ms |")
    print(f"load {os.getloadavg()}")
    print("ALL EQUAL" if ok else "MISMATCH")
    _ = njit, numba_simd


if __name__ == "__main__":
    main()
