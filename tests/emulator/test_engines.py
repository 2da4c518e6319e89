"""The one-pass kernel against hand counts and the reference interpreter (on the flat buffers
and on the awkward events)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.emulator.conftest import make_batch, synthetic_batch
from trigkit.emulator.columns import columns_from_batch
from trigkit.emulator.compiled import compile_menu
from trigkit.emulator.cuts.ht import ht_value
from trigkit.emulator.engine import onepass
from trigkit.emulator.engine.onepass import run_onepass as run_fused
from trigkit.emulator.engine.reference import run_reference, run_reference_events
from trigkit.emulator.schema import load_menu, parse_menu, shipped_menus

MIXED = """\
name: mixed
l1:
  L1_Quad: {jets: {pt: [70, 55, 40, 35], abs_eta: 2.5},
            ht: {min: 200, jet_pt: 30, jet_abs_eta: 2.4}}
  L1_HT: {ht: {min: 350}}
  L1_Tag: {jets: {pt: [50, 30]}, tagger: {wp: 0.75, n: 2, jet_pt: 30}}
  L1_Or: {any_of: [L1_HT, L1_Tag], ht: {min: 150}}
hlt:
  H_mean: {seeds: [L1_Quad, L1_HT], jets: {pt: [30, 30, 30, 30]}, btag_mean: {min: 0.6}}
  H_sum3: {seeds: [L1_Quad], btag_sum: {min: 1.9, top: 3}}
  H_count: {seeds: [L1_Or], btag_count: {wp: 0.8, n: 3, jet_pt: 25}}
  H_fat: {seeds: [], fatjet: {pt: 250, msd: 40, xbb: 0.5}}
  H_fat_noxbb: {seeds: [L1_HT], fatjet: {pt: 300, msd: 60, n: 1}}
  H_top4: {seeds: [L1_Tag], btag_mean: {min: 0.5, top: 4, jet_pt: 20, jet_abs_eta: 3.0}}
"""


@pytest.fixture(autouse=True, params=["auto", "numba"])
def _backend(request, monkeypatch):  # noqa: ANN202
    """Every test on both kernels: ``auto`` (the C lane kernel where the host, compiler, menu
    and events allow it; tests/emulator/test_cbackend.py checks it is chosen) and numba."""
    monkeypatch.setenv("TRIGKIT_EMULATOR_BACKEND", request.param)
    return request.param


def _j(pt, eta, btag, l1=0.0):
    return {"pt": pt, "eta": eta, "btag": btag, "l1_score": l1}


def _f(pt, msd, xbb, eta=0.0):
    return {"pt": pt, "eta": eta, "msd": msd, "xbb": xbb, "tau21": 0.3}


def test_hand_counted_decisions() -> None:
    menu = parse_menu(MIXED)
    batch = make_batch(
        [
            # 0: quad (100,80,60,45) HT(2.4)=285; btag top2 mean (0.9+0.7)/2=0.8; top3 sum 2.2;
            #    3 tags>=0.8? no (0.9,0.85 only)
            [_j(100, 0.1, 0.9), _j(80, 0.5, 0.7), _j(60, 1.0, 0.85, 0.8), _j(45, -1.0, 0.1)],
            # 1: HT 400 from 2 jets, no quad; L1_Tag: 2 jets l1>=0.75 with pt>=30 and (50,30) ok;
            #    L1_Or ok
            [_j(250, 0.0, 0.95, 0.8), _j(150, 1.0, 0.9, 0.9), _j(26, 0.0, 0.81)],
            # 2: nothing at L1; fat jet passes the unseeded path
            [_j(40, 0.0, 0.99)],
            # 3: no jets at all, fat jet fails xbb
            [],
        ],
        [[_f(400, 130, 0.9)], [_f(320, 70, 0.1)], [_f(260, 41, 0.5)], [_f(500, 100, 0.4)]],
    )
    cm = compile_menu(menu)
    out = run_fused(cm, columns_from_batch(batch, cm))
    names = cm.trigger_names
    expect = {
        "L1_Quad": [1, 0, 0, 0],
        "L1_HT": [0, 1, 0, 0],
        "L1_Tag": [0, 1, 0, 0],
        "L1_Or": [0, 1, 0, 0],
        "H_mean": [1, 0, 0, 0],
        "H_sum3": [1, 0, 0, 0],
        "H_count": [0, 1, 0, 0],  # event 1: 0.95, 0.9, 0.81 (pt 26 >= 25)
        "H_fat": [1, 0, 1, 0],
        "H_fat_noxbb": [0, 1, 0, 0],
        "H_top4": [0, 0, 0, 0],  # event 1 has only 3 jets above 20 GeV
    }
    for name, col in expect.items():
        assert out[:, names.index(name)].astype(int).tolist() == col, name


def _all_three(menu, batch):
    cm = compile_menu(menu)
    cols = columns_from_batch(batch, cm)
    fused = run_fused(cm, cols)
    vec = run_reference_events(menu, batch.jets, batch.fatjets)
    return fused, vec, cm, cols


@pytest.mark.parametrize("menu_name", [*shipped_menus(), "mixed"])
def test_fused_equals_awkward_on_synthetic_events(menu_name, sig_batch, bkg_batch) -> None:
    menu = parse_menu(MIXED) if menu_name == "mixed" else load_menu(menu_name)
    for batch in (sig_batch, bkg_batch):
        fused, vec, _, _ = _all_three(menu, batch)
        assert fused.any(axis=0).sum() >= 1
        np.testing.assert_array_equal(fused, vec)


def test_fused_equals_reference_on_the_flat_buffers() -> None:
    menu = parse_menu(MIXED)
    batch = synthetic_batch(400, 7, signal=True)
    fused, vec, cm, cols = _all_three(menu, batch)
    ref = run_reference(cm, cols)
    np.testing.assert_array_equal(fused, ref)
    np.testing.assert_array_equal(vec, ref)
    # every trigger fires sometimes and fails sometimes: the comparison is not vacuous
    frac = fused.mean(axis=0)
    assert np.all(frac > 0) and np.all(frac < 1), dict(zip(cm.trigger_names, frac, strict=True))


def test_fused_threads_do_not_change_decisions(bkg_batch) -> None:
    menu = load_menu("run3_hh4b")
    cm = compile_menu(menu)
    cols = columns_from_batch(bkg_batch, cm)
    np.testing.assert_array_equal(
        run_fused(cm, cols, n_threads=1), run_fused(cm, cols, n_threads=2)
    )


def test_unsorted_jets_are_sorted_first() -> None:
    menu = parse_menu(MIXED)
    b = make_batch(
        [[_j(45, -1.0, 0.1), _j(60, 1.0, 0.85, 0.8), _j(100, 0.1, 0.9), _j(80, 0.5, 0.7)]],
        [[_f(400, 130, 0.9)]],
    )
    fused, vec, _, _ = _all_three(menu, b)
    np.testing.assert_array_equal(fused, vec)
    assert fused[0, 0]  # L1_Quad


def test_missing_score_field_is_one_line_error() -> None:
    from trigkit.core.errors import TrigkitError

    b = make_batch([[{"pt": 50.0, "eta": 0.0}]], [[_f(400, 130, 0.9)]])
    cm = compile_menu(parse_menu(MIXED))
    with pytest.raises(TrigkitError, match="jets have no field 'l1_score'.*present: pt, eta"):
        columns_from_batch(b, cm)


@pytest.fixture(scope="module")
def generated():
    gen = pytest.importorskip("trigkit.events.generator")
    from trigkit.emulator.scores import attach_baseline_scores

    return {
        p: attach_baseline_scores(gen.generate(p, n, seed=5))
        for p, n in (("hh4b", 300), ("qcd", 400), ("ttbar", 200))
    }


@pytest.mark.parametrize("menu_name", ["run3_hh4b", "atlas_2b2j"])
def test_fused_reference_awkward_agree_on_generated_events(generated, menu_name) -> None:
    menu = load_menu(menu_name)
    fired = np.zeros(len(menu.l1) + len(menu.hlt), dtype=int)
    for batch in generated.values():
        fused, vec, cm, cols = _all_three(menu, batch)
        np.testing.assert_array_equal(fused, vec)
        np.testing.assert_array_equal(fused, run_reference(cm, cols))
        fired += fused.sum(axis=0)
    assert fired.sum() > 0


def test_onepass_equals_reference_on_every_menu(generated) -> None:
    """The generated one-pass kernel vs the reference interpreter on every menu, including the
    one with tagger counts, top-3/4 sums and an unseeded path."""
    for menu in [parse_menu(MIXED), *(load_menu(m) for m in shipped_menus())]:
        cm = compile_menu(menu)
        batches = (
            [synthetic_batch(300, 11, signal=True)]
            if menu.name == "mixed"
            else list(generated.values())
        )
        for batch in batches:
            try:
                cols = columns_from_batch(batch, cm)
            except Exception:  # noqa: BLE001 - menus reading NanoAOD-only fields
                continue
            np.testing.assert_array_equal(run_fused(cm, cols), run_reference(cm, cols))


def test_onepass_thresholds_at_float32_edges() -> None:
    """Jets exactly at / one float32 ulp below each threshold: same decision as the reference."""
    menu = parse_menu(MIXED)
    below = float(np.nextafter(np.float32(70), np.float32(0)))
    events = [
        [
            _j(70.0, 0.0, 0.6),
            _j(55.0, 2.5, 0.6),
            _j(40.0, -2.4, 0.6),
            _j(35.0, 0.0, 0.6),
            _j(30.0, 0.0, 0.5),
            _j(30.0, 0.0, 0.5),
            _j(30.0, 0.1, 0.5),
            _j(30.0, 0.2, 0.5),
        ],
        [
            _j(below, 0.0, 0.6),
            _j(55.0, 0.0, 0.6),
            _j(40.0, 0.0, 0.6),
            _j(35.0, 0.0, 0.6),
            _j(30.0, 0.0, 0.6),
        ],
        [_j(200.0, 2.5000002, 0.9), _j(150.0, 0.0, float("nan")), _j(30.0, 0.0, 0.9)],
    ]
    b = make_batch(events, [[_f(250, 40, 0.5)], [], [_f(400, 130, 0.9)]])
    cm = compile_menu(menu)
    cols = columns_from_batch(b, cm)
    one = run_fused(cm, cols)
    np.testing.assert_array_equal(one, run_reference(cm, cols))
    np.testing.assert_array_equal(one, run_reference_events(menu, b.jets, b.fatjets))
    # L1_Quad: 70 / 55 at |eta| = 2.5 pass; HT(|eta| <= 2.4, the -2.4 jet is 2.4000001 in
    # float32) = 225
    assert one[0, 0] and not one[1, 0]  # leading jet at exactly 70 passes, one ulp below fails


def test_onepass_kernel_source_is_cached_per_menu(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TRIGKIT_KERNEL_CACHE", str(tmp_path))
    monkeypatch.setattr(onepass, "_LOADED", {})  # loaded by this test's other backend param
    cm = compile_menu(parse_menu(MIXED.replace("min: 350", "min: 351.5")))
    k1 = onepass.load_kernel(cm)
    assert onepass.load_kernel(cm) is k1
    files = list(tmp_path.glob("trigkit_onepass_*.py"))
    assert len(files) == 1 and "351.5" in files[0].read_text()


LEADING_HT = """\
name: leading_ht
l1:
  L1_HT2: {ht: {min: 150, jet_pt: 15, jet_abs_eta: 2.1, leading: 2}}
  L1_HT3: {ht: {min: 150, jet_pt: 15, jet_abs_eta: 2.1, leading: 3}}
  L1_HTall: {ht: {min: 150, jet_pt: 15, jet_abs_eta: 2.1}}
hlt:
  H_HT5: {seeds: [], ht: {min: 190, jet_pt: 15, jet_abs_eta: 2.1, leading: 5}}
"""


def test_leading_ht_hand_counted_in_every_implementation() -> None:
    """``ht: {leading: N}`` sums the first N selected jets (pt >= 15, |eta| <= 2.1) in pt order:
    jets failing |eta| or pt are skipped, not counted; fewer than N selected jets sum them all."""

    def jets(*pt_eta):
        return [_j(pt, eta, 0.5) for pt, eta in pt_eta]

    events = [
        # 0: selected 100, 40, 30, 20 (60 at |eta| 2.5, 14 below 15): HT2 140, HT3 170, all 190,
        #    HT5 190
        jets((100, 0.0), (60, 2.5), (40, 0.0), (30, 1.0), (20, 0.0), (14, 0.0)),
        # 1: 7 selected: HT2 110, HT3 150, all 237, HT5 200
        jets((60, 0.0), (50, 0.0), (40, 0.0), (30, 0.0), (20, 0.0), (19, 0.0), (18, 0.0)),
        # 2: 7 selected: HT2 90, HT3 120, all 240, HT5 180 (the all-jets HT passes, the 5-jet
        #    one not)
        jets((50, 0.0), (40, 0.0), (30, 0.0), (30, 0.0), (30, 0.0), (30, 0.0), (30, 0.0)),
        # 3: exactly 5 selected, |eta| failures interleaved (80 at -2.2, 30 at 3.0;
        #    float32(2.1) < 2.1 passes): 90, 50, 40, 20, 16 -> HT2 140, HT3 180, all = HT5 = 216
        jets((90, 0.0), (80, -2.2), (50, 1.0), (40, 2.1), (30, 3.0), (20, -2.0), (16, 0.5)),
        # 4: fewer than 2 selected: 145 everywhere
        jets((100, 0.0), (45, -1.0)),
        # 5: no jets
        [],
        # 6: not pt-ordered in the input (re-sorted when the columns are built): 100, 60, 50, 20
        jets((20, 0.0), (100, 0.0), (60, 0.0), (50, 0.0)),
    ]
    menu = parse_menu(LEADING_HT)
    batch = make_batch(events)
    fused, vec, cm, cols = _all_three(menu, batch)
    expect = {
        "L1_HT2": [0, 0, 0, 0, 0, 0, 1],
        "L1_HT3": [1, 1, 0, 1, 0, 0, 1],
        "L1_HTall": [1, 1, 1, 1, 0, 0, 1],
        "H_HT5": [1, 1, 0, 1, 0, 0, 1],
    }
    got = {name: fused[:, i].astype(int).tolist() for i, name in enumerate(cm.trigger_names)}
    assert got == expect
    np.testing.assert_array_equal(run_reference(cm, cols), fused)
    np.testing.assert_array_equal(vec, fused)
    assert ht_value(batch.jets, 15.0, 2.1, 5).tolist() == [190, 200, 180, 216, 145, 0, 230]
    assert ht_value(batch.jets, 15.0, 2.1, 2).tolist() == [140, 110, 90, 140, 145, 0, 160]
