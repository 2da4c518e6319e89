"""The C lane kernel (one event per AVX-512 lane) against the reference interpreter and the numba
kernel: random menus of every cut type on adversarial values (every threshold and one ulp either
side, NaN / +-inf scores, zero-jet events), events with more than 128 jets (the gather path), the
arrays' last window, NaN / +-inf pts; the automatic fallbacks (a menu or events it does not
cover, a corrupt cached object, a failing compiler, the environment switch)."""

from __future__ import annotations

import logging
import stat

import numpy as np
import pytest

from tests.emulator.test_engines import MIXED
from tests.emulator.test_onepass_edges import LEADING, _adversarial_columns, _empty_columns
from trigkit.core.errors import TrigkitError
from trigkit.emulator.columns import Columns
from trigkit.emulator.compiled import CompiledMenu, compile_menu
from trigkit.emulator.engine import cbackend, onepass
from trigkit.emulator.engine.lanes_c import generate_lane_source
from trigkit.emulator.engine.onepass import choose_backend, run_numba, run_onepass
from trigkit.emulator.engine.plan import plan_menu
from trigkit.emulator.engine.reference import run_reference
from trigkit.emulator.schema import load_menu, parse_menu, shipped_menus

F32 = np.float32


def _why_not() -> str:
    if cbackend.host_missing():
        return f"the CPU lacks {', '.join(cbackend.host_missing())}"
    if cbackend.find_compiler() is None:
        return "no C compiler on PATH"
    return ""


pytestmark = pytest.mark.skipif(bool(_why_not()), reason=f"C lane kernel: {_why_not()}")


@pytest.fixture(autouse=True)
def _own_cache(tmp_path_factory, monkeypatch):  # noqa: ANN202
    """One compile cache for this module's kernels (not the user's), the env switch unset."""
    monkeypatch.setenv("TRIGKIT_CACHE", str(tmp_path_factory.getbasetemp() / "c-cache"))
    monkeypatch.delenv(onepass.BACKEND_ENV, raising=False)
    monkeypatch.delenv("CC", raising=False)


def _c(cm: CompiledMenu, cols: Columns, n_threads: int = 1) -> np.ndarray:
    return run_onepass(cm, cols, n_threads, backend="c")


def _menu(text: str) -> CompiledMenu:
    return compile_menu(parse_menu(text))


def _random_menu(rng: np.random.Generator, i: int) -> str:
    """A menu of 3-5 L1 seeds and 3-5 HLT paths, each 1-3 cuts of every supported type with
    random thresholds on a coarse grid (so that registers are shared and thresholds collide)."""
    pt = lambda: float(rng.choice([15, 20, 25, 30, 35, 40, 55, 70]))  # noqa: E731
    eta = lambda: float(rng.choice([1.5, 2.1, 2.4, 2.5, 3.0]))  # noqa: E731

    def cut(level: str) -> str:
        kinds = ["jets", "jets1", "ht", "htlead"]
        kinds += ["tagger"] if level == "l1" else ["count", "mean", "sum", "fat", "fatx"]
        k = str(rng.choice(kinds))
        if k == "jets":
            pts = sorted((pt() for _ in range(int(rng.integers(2, 5)))), reverse=True)
            return f"jets: {{pt: {pts}, abs_eta: {eta()}}}"
        if k == "jets1":
            return f"jets: {{pt: [{pt() * 3}], abs_eta: {eta()}}}"
        if k in ("ht", "htlead"):
            lead = f", leading: {int(rng.integers(1, 6))}" if k == "htlead" else ""
            return f"ht: {{min: {float(rng.choice([45, 90, 150, 200]))}, jet_pt: {pt()}, " + (
                f"jet_abs_eta: {eta()}{lead}}}"
            )
        if k in ("tagger", "count"):
            key = "tagger" if k == "tagger" else "btag_count"
            wp, n = float(rng.choice([0.5, 0.75, 0.8])), int(rng.integers(1, 4))
            return f"{key}: {{wp: {wp}, n: {n}, jet_pt: {pt()}, jet_abs_eta: {eta()}}}"
        if k in ("mean", "sum"):
            top, m = int(rng.integers(1, 5)), float(rng.choice([0.5, 0.6, 1.0, 1.9]))
            return f"btag_{k}: {{min: {m}, top: {top}, jet_pt: {pt()}, jet_abs_eta: {eta()}}}"
        xbb = ", xbb: 0.5" if k == "fatx" else ""
        return f"fatjet: {{pt: {pt() * 8}, msd: {float(rng.choice([0, 40, 60]))}{xbb}}}"

    def cuts(level: str) -> str:
        got: dict[str, str] = {}
        for _ in range(int(rng.integers(1, 4))):
            c = cut(level)
            got.setdefault(c.split(":")[0], c)  # one cut per key in a trigger
        return ", ".join(got.values())

    n1, nh = int(rng.integers(3, 6)), int(rng.integers(3, 6))
    lines = [f"name: random{i}", "l1:"]
    lines += [f"  L1_{k}: {{{cuts('l1')}}}" for k in range(n1)]
    lines += ["hlt:"]
    for k in range(nh):
        seeds = sorted({f"L1_{int(s)}" for s in rng.integers(0, n1, int(rng.integers(0, 3)))})
        lines.append(f"  H_{k}: {{seeds: [{', '.join(seeds)}], {cuts('hlt')}}}")
    return "\n".join(lines) + "\n"


def _with_long_events(cols: Columns, rng: np.random.Generator) -> Columns:
    """``cols`` with events of 129-300 jets (pt-ordered, above the floors) inserted: groups
    around them take the gather path."""
    long = {int(e): int(rng.integers(129, 300)) for e in rng.choice(cols.n_events, 5, False)}
    off, pt, eta, sc = [0], [], [], []
    for e in range(cols.n_events):
        a, b = int(cols.jet_offsets[e]), int(cols.jet_offsets[e + 1])
        if e in long:
            m = long[e]
            pt.append(np.sort(rng.choice(F32([30, 35, 40, 55, 70, 400]), m))[::-1])
            eta.append(rng.uniform(-3, 3, m).astype(F32))
            sc.append(rng.uniform(0, 1, (cols.jet_scores.shape[0], m)).astype(F32))
        else:
            pt.append(cols.jet_pt[a:b])
            eta.append(cols.jet_eta[a:b])
            sc.append(cols.jet_scores[:, a:b])
        off.append(off[-1] + len(pt[-1]))
    return Columns(
        cols.n_events,
        np.array(off, np.int64),
        np.concatenate(pt),
        np.concatenate(eta),
        np.concatenate(sc, axis=1),
        cols.fat_offsets,
        cols.fat_pt,
        cols.fat_eta,
        cols.fat_msd,
        cols.fat_scores,
    )


@pytest.mark.parametrize("seed", range(6))
def test_random_menus_equal_the_reference(seed: int) -> None:
    """Every supported cut type, random thresholds, on adversarial columns (with 128+-jet events
    and odd event counts, so the last group is partial and the last window takes gathers)."""
    rng = np.random.default_rng(100 + seed)
    cm = _menu(_random_menu(rng, seed))
    assert choose_backend(cm, _empty_columns(1, cm)).name == "c"
    cols = _adversarial_columns(cm, 3001 + 37 * seed, seed)
    if seed % 2:
        cols = _with_long_events(cols, rng)
    c = _c(cm, cols)
    np.testing.assert_array_equal(c, run_reference(cm, cols))
    np.testing.assert_array_equal(c, run_numba(cm, cols, 1))
    assert 0 < c.sum() < c.size  # the menu is neither trivial nor dead on these events


@pytest.mark.parametrize("menu_name", ["mixed", "leading", *shipped_menus()])
def test_every_menu_runs_in_c_and_equals_reference(menu_name: str) -> None:
    text = {"mixed": MIXED, "leading": LEADING}.get(menu_name)
    cm = compile_menu(parse_menu(text) if text else load_menu(menu_name))
    cols = _with_long_events(_adversarial_columns(cm, 4099, 7), np.random.default_rng(3))
    choice = choose_backend(cm, cols)
    assert choice.name == "c" and choice.reason == ""
    c = _c(cm, cols)
    np.testing.assert_array_equal(c, run_reference(cm, cols))
    for threads in (2, 3):  # chunk ranges over a thread pool: the same decisions
        np.testing.assert_array_equal(c, _c(cm, cols, threads))
    np.testing.assert_array_equal(
        _c(cm, _empty_columns(21, cm)), run_reference(cm, _empty_columns(21, cm))
    )


def test_nonfinite_pts_decide_like_the_numba_kernel() -> None:
    """NaN / +-inf pts (not produced by columns_from_batch, which refuses them): a NaN pt does not
    end an event's jet loop, an HT adds ``p * 0`` (NaN) for it, as numba's ``pd * ONE[sel]``."""
    cm = _menu(MIXED)
    cols = _adversarial_columns(cm, 2000, 5)
    rng = np.random.default_rng(9)
    pt = cols.jet_pt.copy()
    bad = rng.random(len(pt)) < 0.05
    pt[bad] = rng.choice(F32([np.nan, np.inf, -np.inf]), int(bad.sum()))
    cols = Columns(cols.n_events, cols.jet_offsets, pt, *_rest(cols))
    np.testing.assert_array_equal(_c(cm, cols), run_numba(cm, cols, 1))


def _rest(cols: Columns) -> tuple:
    return (
        cols.jet_eta,
        cols.jet_scores,
        cols.fat_offsets,
        cols.fat_pt,
        cols.fat_eta,
        cols.fat_msd,
        cols.fat_scores,
    )


def test_gather_and_window_paths_agree_on_one_event_layout() -> None:
    """The same 40 events as the arrays' last jets (gathers) and followed by 200 far jets
    (windows): the same decisions, the reference's."""
    cm = _menu(MIXED)
    cols = _adversarial_columns(cm, 40, 2)
    pad = 200
    tail = Columns(
        cols.n_events + 1,
        np.concatenate([cols.jet_offsets, [cols.jet_offsets[-1] + pad]]),
        np.concatenate([cols.jet_pt, np.full(pad, 1.0, F32)]),
        np.concatenate([cols.jet_eta, np.zeros(pad, F32)]),
        np.concatenate([cols.jet_scores, np.zeros((cols.jet_scores.shape[0], pad), F32)], 1),
        np.concatenate([cols.fat_offsets, [cols.fat_offsets[-1]]]),
        cols.fat_pt,
        cols.fat_eta,
        cols.fat_msd,
        cols.fat_scores,
    )
    last, windowed = _c(cm, cols), _c(cm, tail)[:-1]
    np.testing.assert_array_equal(last, windowed)
    np.testing.assert_array_equal(last, run_reference(cm, cols))


@pytest.mark.parametrize("scores", [False, True])
def test_l1_jet_events_run_in_c(scores: bool) -> None:
    """Events with L1 jets (with and without the L1 tagger's scores on them): the L1 seeds'
    cuts read them in a second lane loop; 128+-jet events on both collections."""
    cm = _menu(MIXED)
    rng = np.random.default_rng(11)
    cols = _with_long_events(_adversarial_columns(cm, 3000, 4), rng)
    other = _with_long_events(_adversarial_columns(cm, 3000, 5), rng)  # unlike the offline jets
    l1sc = np.stack([other.jet_scores[cm.jet_fields.index(f)] for f in cm.l1_jet_fields])
    l1 = Columns(
        cols.n_events,
        cols.jet_offsets,
        *_rest_from_pt(cols),
        l1_offsets=other.jet_offsets,
        l1_pt=other.jet_pt,
        l1_eta=other.jet_eta,
        l1_scores=l1sc if scores else None,
    )
    assert choose_backend(cm, l1).name == "c"
    c = _c(cm, l1)
    np.testing.assert_array_equal(c, run_reference(cm, l1))
    np.testing.assert_array_equal(c, run_numba(cm, l1, 1))
    assert not np.array_equal(c[:, : cm.n_l1], _c(cm, cols)[:, : cm.n_l1])  # L1 jets were read


def _rest_from_pt(cols: Columns) -> tuple:
    return (cols.jet_pt, *_rest(cols))


def test_unsupported_cut_type_falls_back_to_numba(monkeypatch, caplog) -> None:
    """A menu with a cut type the C emitter lacks (here: fatjet, removed) runs on numba, saying
    why in one log line; asking for C then is an error naming it."""
    from trigkit.emulator.engine import lanes_c

    monkeypatch.delitem(lanes_c._EMIT, "fatjet")
    monkeypatch.setattr(onepass, "_SAID", set())  # the reason is logged once per process
    cm = _fresh_menu()
    cols = _adversarial_columns(cm, 300, 4)
    with caplog.at_level(logging.INFO, logger="trigkit.emulator.engine.onepass"):
        choice = choose_backend(cm, cols)
    assert choice.name == "numba" and "fatjet have no C lane version" in choice.reason
    assert any("numba kernel (C lane kernel not used" in r.message for r in caplog.records)
    np.testing.assert_array_equal(run_onepass(cm, cols, 1), run_reference(cm, cols))
    with pytest.raises(TrigkitError, match="backend c cannot run: .*fatjet"):
        run_onepass(cm, cols, 1, backend="c")


def test_buffers_of_another_dtype_fall_back_to_numba() -> None:
    cm = _menu(MIXED)
    cols = _adversarial_columns(cm, 200, 3)
    wide = Columns(cols.n_events, cols.jet_offsets, cols.jet_pt.astype(np.float64), *_rest(cols))
    choice = choose_backend(cm, wide)
    assert choice.name == "numba" and "not float32" in choice.reason
    np.testing.assert_array_equal(run_onepass(cm, wide, 1), run_reference(cm, cols))


def test_env_switch_forces_numba_and_rejects_unknown(monkeypatch) -> None:
    cm = _menu(MIXED)
    cols = _empty_columns(3, cm)
    monkeypatch.setenv(onepass.BACKEND_ENV, "numba")
    assert choose_backend(cm, cols).name == "numba"
    monkeypatch.setenv(onepass.BACKEND_ENV, "fortran")
    with pytest.raises(TrigkitError, match="one of auto, c, numba"):
        choose_backend(cm, cols)


def _fresh_menu() -> CompiledMenu:
    """A menu whose kernel no other test built (a threshold of its own)."""
    return _menu(MIXED.replace("min: 350", f"min: {350 + np.random.default_rng().random():.6f}"))


def test_corrupt_cached_object_is_rebuilt(tmp_path, monkeypatch) -> None:
    """A cached object that does not load (torn by hand; never loaded in this process) is
    compiled again and replaced."""
    monkeypatch.setenv("TRIGKIT_CACHE", str(tmp_path))
    cm = _fresh_menu()
    cols = _adversarial_columns(cm, 300, 1)
    path = cbackend.cached_path(generate_lane_source(cm, plan_menu(cm)), cbackend.find_compiler())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not an ELF object")
    kernel = cbackend.load_c_kernel(cm, plan_menu(cm))
    assert kernel.path == path and path.read_bytes()[:4] == b"\x7fELF"
    np.testing.assert_array_equal(_c(cm, cols), run_reference(cm, cols))


def _fake_cc(tmp_path, monkeypatch, body: str) -> None:
    cc = tmp_path / "bin" / "cc"
    cc.parent.mkdir()
    cc.write_text(f"#!/bin/sh\n{body}\n")
    cc.chmod(cc.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("CC", str(cc))


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (
            '[ "$1" = --version ] && { echo fake-cc 1.0; exit 0; }\necho "bad flag" >&2\nexit 1',
            "exited 1 on the lane kernel: bad flag",
        ),
        ("exit 3", "--version exited 3"),
        (
            '[ "$1" = --version ] && { echo fake-cc 2.0; exit 0; }\n'
            'for a; do [ "$p" = -o ] && echo junk > "$a"; p=$a; done\nexit 0',
            "does not load",
        ),
    ],
)
def test_failing_compiler_or_corrupt_object_falls_back(tmp_path, monkeypatch, body, why) -> None:
    """A compiler that fails, one that does not run, one that writes a corrupt object and a
    corrupt cached object it cannot rebuild: numba runs, one log line says why."""
    monkeypatch.setenv("TRIGKIT_CACHE", str(tmp_path / "cache"))
    _fake_cc(tmp_path, monkeypatch, body)
    cbackend.clear_caches()
    cm = _fresh_menu()
    cols = _adversarial_columns(cm, 300, 1)
    try:
        choice = choose_backend(cm, cols)
        assert choice.name == "numba" and why in choice.reason
        np.testing.assert_array_equal(run_onepass(cm, cols, 1), run_reference(cm, cols))
    finally:
        cbackend.clear_caches()


def test_top_k_mean_divides_like_the_reference() -> None:
    """A mean of 3 scores at exactly ``sum / 3`` (a value where ``sum * (1 / 3)`` is one ulp
    lower): the kernel divides, as the reference does, so the path fires."""
    rng = np.random.default_rng(0)
    while True:
        s = np.sort(rng.uniform(0.3, 1.0, 3).astype(F32))[::-1]
        total = float(s[0]) + float(s[1]) + float(s[2])
        if total / 3 > total * (1 / 3):
            break
    cm = _menu(
        "name: mean3\nl1:\n  L1_A: {ht: {min: 0}}\nhlt:\n"
        f"  H: {{seeds: [], btag_mean: {{min: {total / 3!r}, top: 3}}}}\n"
    )
    off = np.array([0, 3], np.int64)
    z = np.zeros(0, F32)
    cols = Columns(
        1,
        off,
        F32([90, 80, 70]),
        F32([0, 0, 0]),
        s[None, :],
        np.zeros(2, np.int64),
        z,
        z,
        z,
        np.zeros((1, 0), F32),
    )
    expect = run_reference(cm, cols)
    assert expect[0, 1]
    np.testing.assert_array_equal(_c(cm, cols), expect)


def test_no_compiler_on_path_falls_back(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no cc, no gcc
    monkeypatch.setenv("TRIGKIT_CACHE", str(tmp_path / "cache"))
    cbackend.clear_caches()
    cm = _fresh_menu()
    cols = _adversarial_columns(cm, 200, 2)
    try:
        choice = choose_backend(cm, cols)
        assert choice.name == "numba" and "no C compiler" in choice.reason
        np.testing.assert_array_equal(run_onepass(cm, cols, 1), run_reference(cm, cols))
    finally:
        cbackend.clear_caches()
