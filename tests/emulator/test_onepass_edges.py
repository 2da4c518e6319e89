"""The one-pass kernel on adversarial values: every decision equals the float64 per-path kernels'.

The kernel compares float32 values with float32 thresholds (:mod:`trigkit.emulator.f32`) and
masks selections with table loads; these events put pts, |eta|s, scores, soft-drop masses and Xbb
values exactly at every threshold of the menu and one float32 ulp either side, with NaN / +-inf
scores, ties, and events without jets, so a threshold rounded the wrong way would show.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.emulator.test_fused import MIXED
from trigkit.emulator.columns import Columns
from trigkit.emulator.compiled import (
    OP_COUNT,
    OP_FATJET,
    OP_JETS,
    OP_MEAN,
    OP_SUM,
    CompiledMenu,
    compile_menu,
)
from trigkit.emulator.f32 import at_least, at_most
from trigkit.emulator.fused import run_fused, run_perpath
from trigkit.emulator.reference import run_reference
from trigkit.emulator.schema import load_menu, parse_menu, shipped_menus

F32 = np.float32


def _around(values: list[float]) -> np.ndarray:
    """Each value as float32 rounded both ways, and one ulp either side of those."""
    out = [F32(0.0), F32(-0.0)]
    for t in values:
        for c in (at_least(t), at_most(t)):
            out += [c, np.nextafter(c, F32(math.inf)), np.nextafter(c, F32(-math.inf))]
    return np.unique(np.array([x for x in out if np.isfinite(x)], dtype=F32))


def _thresholds(cm: CompiledMenu) -> dict[str, list[float]]:
    pts, etas, scores, msd, xbb = list(cm.thr), [], [], [], []
    for (op, _, n, _), (a, b, v, d) in zip(cm.cut_int.tolist(), cm.cut_float.tolist(), strict=True):
        etas.append(b)
        if op == OP_FATJET:
            msd.append(v)
            xbb += [d] if d > -1e300 else []
            pts.append(a)
        elif op != OP_JETS:
            pts.append(a)
            scores += [v, v / n] if op in (OP_MEAN, OP_SUM) else ([v] if op == OP_COUNT else [])
    return {"pt": pts, "eta": etas, "score": scores, "msd": msd, "xbb": xbb}


def _adversarial_columns(cm: CompiledMenu, n: int, seed: int) -> Columns:
    rng = np.random.default_rng(seed)
    thr = _thresholds(cm)
    pt_vals = _around(thr["pt"])
    eta_vals = np.concatenate([_around(thr["eta"]), [F32(9.5)]])
    score_vals = np.concatenate([_around(thr["score"] + [0.5, 1.0]), np.array([np.nan, -np.inf, np.inf], F32)])

    def flat(count: np.ndarray, vals: np.ndarray) -> np.ndarray:
        return rng.choice(vals, int(count.sum())).astype(F32)

    njet = rng.integers(0, 10, n)
    njet[rng.random(n) < 0.1] = 0
    off = np.concatenate([[0], np.cumsum(njet)]).astype(np.int64)
    pt = flat(njet, pt_vals)
    for e in range(n):  # pt-ordered within the event, as Columns guarantees
        pt[off[e]:off[e + 1]] = np.sort(pt[off[e]:off[e + 1]])[::-1]
    eta = flat(njet, eta_vals) * rng.choice(np.array([-1, 1], F32), len(pt))
    scores = np.stack([flat(njet, score_vals) for _ in range(max(1, len(cm.jet_fields)))])
    nfat = rng.integers(0, 4, n)
    foff = np.concatenate([[0], np.cumsum(nfat)]).astype(np.int64)
    fpt, feta = flat(nfat, pt_vals), flat(nfat, eta_vals) * rng.choice(np.array([-1, 1], F32), int(nfat.sum()))
    fmsd = flat(nfat, _around(thr["msd"]))
    fsc = np.stack([flat(nfat, np.concatenate([_around(thr["xbb"]), [F32(np.nan), F32(-np.inf)]]))
                    for _ in range(max(1, len(cm.fatjet_fields)))])
    return Columns(n, off, pt, eta, scores, foff, fpt, feta, fmsd, fsc)


def _empty_columns(n: int, cm: CompiledMenu) -> Columns:
    z = np.zeros(0, dtype=F32)
    off = np.zeros(n + 1, dtype=np.int64)
    return Columns(n, off, z, z, np.zeros((max(1, len(cm.jet_fields)), 0), F32), off, z, z, z,
                   np.zeros((max(1, len(cm.fatjet_fields)), 0), F32))


MENUS = ["mixed", *shipped_menus()]


def _menu(name: str):  # noqa: ANN202
    return compile_menu(parse_menu(MIXED) if name == "mixed" else load_menu(name))


@pytest.mark.parametrize("menu_name", MENUS)
def test_onepass_equals_perpath_on_threshold_edges(menu_name: str) -> None:
    cm = _menu(menu_name)
    cols = _adversarial_columns(cm, 20_000, seed=3)
    one = run_fused(cm, cols, n_threads=1)
    np.testing.assert_array_equal(one, run_perpath(cm, cols))
    np.testing.assert_array_equal(one, run_fused(cm, cols, n_threads=2))
    frac = one.mean(axis=0)  # not vacuous: most triggers both fire and fail
    assert np.sum((frac > 0) & (frac < 1)) >= len(frac) // 2, dict(zip(cm.trigger_names, frac, strict=True))


@pytest.mark.parametrize("menu_name", MENUS)
def test_onepass_equals_python_reference_on_threshold_edges(menu_name: str) -> None:
    cm = _menu(menu_name)
    cols = _adversarial_columns(cm, 600, seed=4)
    np.testing.assert_array_equal(run_fused(cm, cols), run_reference(cm, cols))


@pytest.mark.parametrize("menu_name", MENUS)
def test_onepass_without_any_jets(menu_name: str) -> None:
    cm = _menu(menu_name)
    cols = _empty_columns(50, cm)
    np.testing.assert_array_equal(run_fused(cm, cols), run_perpath(cm, cols))


def test_float32_thresholds_decide_like_float64() -> None:
    rng = np.random.default_rng(0)
    ts = [*rng.normal(0, 50, 300), 0.0, -0.0, 2.4, 0.06, 1e-46, -1e-46, 3.5e38, -3.5e38, 1e300, math.inf, -math.inf]
    for t in ts:
        lo, hi = at_least(t), at_most(t)
        with np.errstate(over="ignore"):  # nextafter(float32 max, inf) = inf
            xs = np.array([lo, hi, np.nextafter(lo, F32(math.inf)), np.nextafter(lo, F32(-math.inf)),
                           np.nextafter(hi, F32(math.inf)), np.nextafter(hi, F32(-math.inf)), np.nan, np.inf,
                           -np.inf, *rng.normal(0, 50, 20)], dtype=F32)
        for x in xs:
            assert (float(x) >= t) == (x >= lo) and (float(x) < t) == (x < lo), (t, x)
            assert (float(x) <= t) == (x <= hi), (t, x)
    assert math.isnan(at_least(math.nan)) and math.isnan(at_most(math.nan))
