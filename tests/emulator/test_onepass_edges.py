"""The one-pass kernel on adversarial values: every decision equals the float64 reference's.

The kernel compares float32 values with float32 thresholds (:mod:`trigkit.emulator.f32`) and
masks selections with table loads; these events put pts, |eta|s, scores, soft-drop masses and Xbb
values exactly at every threshold of the menu and one float32 ulp either side, with NaN / +-inf
scores, ties, and events without jets, so a threshold rounded the wrong way would show.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.emulator.test_engines import MIXED
from trigkit.emulator.columns import Columns
from trigkit.emulator.compiled import CompiledMenu, compile_menu
from trigkit.emulator.engine.onepass import run_onepass as run_fused
from trigkit.emulator.engine.reference import run_reference
from trigkit.emulator.f32 import at_least, at_most
from trigkit.emulator.schema import load_menu, parse_menu, shipped_menus

F32 = np.float32


@pytest.fixture(autouse=True, params=["auto", "numba"])
def _backend(request, monkeypatch):  # noqa: ANN202
    """Every test on both kernels: ``auto`` (the C lane kernel where the host, compiler, menu
    and events allow it; tests/emulator/test_cbackend.py checks it is chosen) and numba."""
    monkeypatch.setenv("TRIGKIT_EMULATOR_BACKEND", request.param)
    return request.param


def _around(values: list[float]) -> np.ndarray:
    """Each value as float32 rounded both ways, and one ulp either side of those."""
    out = [F32(0.0), F32(-0.0)]
    for t in values:
        for c in (at_least(t), at_most(t)):
            out += [c, np.nextafter(c, F32(math.inf)), np.nextafter(c, F32(-math.inf))]
    return np.unique(np.array([x for x in out if np.isfinite(x)], dtype=F32))


def _thresholds(cm: CompiledMenu) -> dict[str, list[float]]:
    pts, etas, scores, msd, xbb = [], [], [], [], []
    for row in cm.cuts:
        c, key = row.cut, row.type.key
        if key == "jets":
            pts += c.pt
            etas.append(c.abs_eta)
        elif key == "fatjet":
            pts.append(c.pt)
            etas.append(c.abs_eta)
            msd.append(c.msd)
            xbb += [] if c.xbb is None else [c.xbb]
        else:
            pts.append(c.jet_pt)
            etas.append(c.jet_abs_eta)
            scores += [c.wp] if hasattr(c, "wp") else []
            scores += [c.min, c.min / c.top] if hasattr(c, "top") else []
    return {"pt": pts, "eta": etas, "score": scores, "msd": msd, "xbb": xbb}


def _adversarial_columns(cm: CompiledMenu, n: int, seed: int) -> Columns:
    rng = np.random.default_rng(seed)
    thr = _thresholds(cm)
    pt_vals = _around(thr["pt"])
    eta_vals = np.concatenate([_around(thr["eta"]), [F32(9.5)]])
    score_vals = np.concatenate(
        [_around(thr["score"] + [0.5, 1.0]), np.array([np.nan, -np.inf, np.inf], F32)]
    )

    def flat(count: np.ndarray, vals: np.ndarray) -> np.ndarray:
        return rng.choice(vals, int(count.sum())).astype(F32)

    njet = rng.integers(0, 10, n)
    njet[rng.random(n) < 0.1] = 0
    off = np.concatenate([[0], np.cumsum(njet)]).astype(np.int64)
    pt = flat(njet, pt_vals)
    for e in range(n):  # pt-ordered within the event, as Columns guarantees
        pt[off[e] : off[e + 1]] = np.sort(pt[off[e] : off[e + 1]])[::-1]
    eta = flat(njet, eta_vals) * rng.choice(np.array([-1, 1], F32), len(pt))
    scores = np.stack([flat(njet, score_vals) for _ in range(max(1, len(cm.jet_fields)))])
    nfat = rng.integers(0, 4, n)
    foff = np.concatenate([[0], np.cumsum(nfat)]).astype(np.int64)
    fpt, feta = (
        flat(nfat, pt_vals),
        flat(nfat, eta_vals) * rng.choice(np.array([-1, 1], F32), int(nfat.sum())),
    )
    fmsd = flat(nfat, _around(thr["msd"]))
    fsc = np.stack(
        [
            flat(nfat, np.concatenate([_around(thr["xbb"]), [F32(np.nan), F32(-np.inf)]]))
            for _ in range(max(1, len(cm.fatjet_fields)))
        ]
    )
    return Columns(n, off, pt, eta, scores, foff, fpt, feta, fmsd, fsc)


def _empty_columns(n: int, cm: CompiledMenu) -> Columns:
    z = np.zeros(0, dtype=F32)
    off = np.zeros(n + 1, dtype=np.int64)
    return Columns(
        n,
        off,
        z,
        z,
        np.zeros((max(1, len(cm.jet_fields)), 0), F32),
        off,
        z,
        z,
        z,
        np.zeros((max(1, len(cm.fatjet_fields)), 0), F32),
    )


# Leading-N HT (``ht: {leading: N}``) next to the all-jets HT of the same selection, sharing its
# jet counter with a ``jets:`` group (HT jet_pt at the pt floor, same |eta|), with a top-k sum or
# with another leading-N HT (two N on one selection), and the same register under two thresholds.
LEADING = """\
name: leading
l1:
  L1_Quad: {jets: {pt: [60, 40, 30, 15], abs_eta: 2.1}}
  L1_HT5: {ht: {min: 150, jet_pt: 15, jet_abs_eta: 2.1, leading: 5}}
  L1_HTall: {ht: {min: 150, jet_pt: 15, jet_abs_eta: 2.1}}
  L1_HT2: {ht: {min: 90, jet_pt: 15, jet_abs_eta: 2.1, leading: 2}}
  L1_HT1: {ht: {min: 45, jet_pt: 30, jet_abs_eta: 2.5, leading: 1}}
  L1_Or: {any_of: [L1_HT5, L1_HT1], ht: {min: 100, jet_pt: 20, jet_abs_eta: 1.5, leading: 3}}
hlt:
  H_a: {seeds: [L1_HT5], jets: {pt: [35, 35, 35, 35], abs_eta: 2.5},
        ht: {min: 120, jet_pt: 25, jet_abs_eta: 2.5, leading: 4},
        btag_sum: {min: 1.2, top: 2, jet_pt: 25}}
  H_b: {seeds: [], ht: {min: 140, jet_pt: 25, jet_abs_eta: 2.5, leading: 4}}
  H_c: {seeds: [L1_Quad, L1_Or], ht: {min: 70, jet_pt: 40, jet_abs_eta: 1.5, leading: 2}}
  H_d: {seeds: [L1_HTall], ht: {min: 170, jet_pt: 15, jet_abs_eta: 2.1, leading: 5}}
  H_e: {seeds: [], ht: {min: 40, jet_pt: 20, jet_abs_eta: 1.5, leading: 1}}
"""
MENUS = ["mixed", "leading", *shipped_menus()]


def _menu(name: str):  # noqa: ANN202
    text = {"mixed": MIXED, "leading": LEADING}.get(name)
    return compile_menu(parse_menu(text) if text else load_menu(name))


@pytest.mark.parametrize("menu_name", MENUS)
def test_onepass_equals_reference_on_threshold_edges(menu_name: str) -> None:
    cm = _menu(menu_name)
    cols = _adversarial_columns(cm, 20_000, seed=3)
    one = run_fused(cm, cols, n_threads=1)
    np.testing.assert_array_equal(one, run_reference(cm, cols))
    np.testing.assert_array_equal(one, run_fused(cm, cols, n_threads=2))
    frac = one.mean(axis=0)  # not vacuous: most triggers both fire and fail
    assert np.sum((frac > 0) & (frac < 1)) >= len(frac) // 2, dict(
        zip(cm.trigger_names, frac, strict=True)
    )


@pytest.mark.parametrize("menu_name", MENUS)
def test_onepass_without_any_jets(menu_name: str) -> None:
    cm = _menu(menu_name)
    cols = _empty_columns(50, cm)
    np.testing.assert_array_equal(run_fused(cm, cols), run_reference(cm, cols))


def test_float32_thresholds_decide_like_float64() -> None:
    rng = np.random.default_rng(0)
    ts = [
        *rng.normal(0, 50, 300),
        0.0,
        -0.0,
        2.4,
        0.06,
        1e-46,
        -1e-46,
        3.5e38,
        -3.5e38,
        1e300,
        math.inf,
        -math.inf,
    ]
    for t in ts:
        lo, hi = at_least(t), at_most(t)
        with np.errstate(over="ignore"):  # nextafter(float32 max, inf) = inf
            xs = np.array(
                [
                    lo,
                    hi,
                    np.nextafter(lo, F32(math.inf)),
                    np.nextafter(lo, F32(-math.inf)),
                    np.nextafter(hi, F32(math.inf)),
                    np.nextafter(hi, F32(-math.inf)),
                    np.nan,
                    np.inf,
                    -np.inf,
                    *rng.normal(0, 50, 20),
                ],
                dtype=F32,
            )
        for x in xs:
            assert (float(x) >= t) == (x >= lo) and (float(x) < t) == (x < lo), (t, x)
            assert (float(x) <= t) == (x <= hi), (t, x)
    assert math.isnan(at_least(math.nan)) and math.isnan(at_most(math.nan))


def test_leading_ht_edges_cover_more_exactly_and_fewer_selected_jets() -> None:
    """The adversarial events for the leading-N menu have more than, exactly and fewer than N
    selected jets, with jets failing |eta| before and among the N leading ones; the leading-N
    HT differs from the all-jets HT, and both engines agree."""
    cm = _menu("leading")
    cols = _adversarial_columns(cm, 20_000, seed=5)
    off, pt, eta = (
        cols.jet_offsets,
        cols.jet_pt.astype(np.float64),
        np.abs(cols.jet_eta.astype(np.float64)),
    )
    sel = (pt >= 15.0) & (eta <= 2.1)
    n_sel = np.add.reduceat(np.append(sel, False).astype(int), off[:-1])[: cols.n_events] * (
        np.diff(off) > 0
    )
    assert (
        np.sum(n_sel > 5) > 100
        and np.sum(n_sel == 5) > 100
        and np.sum((n_sel > 0) & (n_sel < 5)) > 100
    )
    # a jet failing |eta| (pt above the cut) ahead of the 5th selected jet
    interleaved = 0
    for e in np.flatnonzero(n_sel >= 5)[:2000]:
        s = sel[off[e] : off[e + 1]]
        fifth = np.flatnonzero(s)[4]
        interleaved += bool(np.any(~s[:fifth] & (pt[off[e] : off[e] + fifth] >= 15.0)))
    assert interleaved > 100
    one = run_fused(cm, cols)
    names = cm.trigger_names
    ht5, htall = one[:, names.index("L1_HT5")], one[:, names.index("L1_HTall")]
    assert np.sum(htall & ~ht5) > 20 and not np.any(ht5 & ~htall)  # 5 leading <= all
    # the reference (sorts, does not assume pt order) on the same values
    np.testing.assert_array_equal(one, run_reference(cm, cols))
