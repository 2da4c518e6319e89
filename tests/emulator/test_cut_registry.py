"""Every registered cut type through both engines: identical decisions on the same events."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import awkward as ak
import numpy as np
import pytest
import yaml

from tests.emulator.conftest import synthetic_batch
from trigkit.core.errors import TrigkitError
from trigkit.emulator.columns import columns_from_batch
from trigkit.emulator.compiled import compile_menu, reads_l1_jets, reads_l1_scores
from trigkit.emulator.cuts import CUT_TYPES, cut_types
from trigkit.emulator.cuts.base import CutType, check_cut_type, registered
from trigkit.emulator.cuts.ht import HT
from trigkit.emulator.engine.codegen import generate_source
from trigkit.emulator.engine.onepass import run_onepass
from trigkit.emulator.engine.plan import plan_menu
from trigkit.emulator.engine.reference import run_reference, run_reference_events
from trigkit.emulator.pipeline import assemble_sample, evaluate_batch, needed_fields, run_files
from trigkit.emulator.schema import parse_menu
from trigkit.events.batch import EventBatch
from trigkit.events.parquet_io import leaf_fields, write_parquet


def _every_cut_menu() -> str:
    """One trigger per example of every cut type (HLT ones unseeded), plus per level one trigger
    ANDing the first example of each of its cut types, and gated copies of the HLT triggers."""
    l1: dict[str, Any] = {}
    hlt: dict[str, Any] = {}
    for t in CUT_TYPES:
        for i, ex in enumerate(t.examples):
            if "l1" in t.levels:
                l1[f"L1_{t.key}_{i}"] = {t.key: ex}
            if "hlt" in t.levels:
                hlt[f"H_{t.key}_{i}"] = {"seeds": [], t.key: ex}
                hlt[f"H_{t.key}_{i}_gated"] = {"seeds": ["L1_ht_0", "L1_jets_1"], t.key: ex}
    l1["L1_all"] = {t.key: t.examples[0] for t in cut_types("l1")}
    hlt["H_all"] = {"seeds": [], **{t.key: t.examples[0] for t in cut_types("hlt")}}
    l1["L1_or"] = {"any_of": ["L1_ht_0", "L1_tagger_0"], "jets": {"pt": [40]}}
    return yaml.safe_dump({"name": "every_cut", "l1": l1, "hlt": hlt}, sort_keys=False)


def test_every_cut_type_gives_identical_decisions_in_both_engines() -> None:
    menu = parse_menu(_every_cut_menu())
    cm = compile_menu(menu)
    assert {r.type.key for r in cm.cuts} == {t.key for t in CUT_TYPES}
    fired = np.zeros(cm.n_l1 + cm.n_hlt, dtype=int)
    n = 0
    for seed, signal in ((21, True), (22, False)):
        batch = synthetic_batch(400, seed, signal=signal)
        cols = columns_from_batch(batch, cm)
        one = run_onepass(cm, cols)
        np.testing.assert_array_equal(one, run_reference(cm, cols))
        np.testing.assert_array_equal(one, run_reference_events(menu, batch.jets, batch.fatjets))
        fired += one.sum(axis=0)
        n += len(one)
    # not vacuous: every trigger both fires and fails somewhere
    frac = dict(zip(cm.trigger_names, fired / n, strict=True))
    assert all(0 < f < 1 for f in frac.values()), frac


def test_every_registered_cut_type_is_complete() -> None:
    shipped = [c for c in registered() if c.__module__.startswith("trigkit.emulator.cuts.")]
    assert [t.key for t in CUT_TYPES] == [c.key for c in sorted(shipped, key=lambda c: c.order)]
    assert len({t.order for t in CUT_TYPES}) == len(CUT_TYPES)
    assert len({t.key for t in CUT_TYPES}) == len(CUT_TYPES)
    for t in CUT_TYPES:
        assert type(t).reference is not CutType.reference, t.key
        assert t.examples and all(t.model(**ex) for ex in t.examples), t.key


def _parts() -> dict[str, Any]:
    """Everything a cut type defines (a copy of HT's, under another key)."""
    names = ("register", "emit", "expr", "reference", "pt_floor", "order", "levels", "model")
    return {"key": "ht_copy", "kind": "ht_copy", "examples": HT.examples} | {
        a: getattr(HT, a) for a in names
    }


@pytest.mark.parametrize("missing", ["reference", "emit", "examples", "model"])
def test_a_cut_type_lacking_a_part_is_refused(missing: str) -> None:
    parts = _parts()
    del parts[missing]
    cls = type(f"Without_{missing}", (CutType,), parts)
    with pytest.raises(TrigkitError, match=rf"cut type 'ht_copy' .* lacks: {missing}"):
        check_cut_type(cls)
    assert isinstance(check_cut_type(type("Complete", (CutType,), _parts())), CutType)


def _with_l1jets(batch: EventBatch, seed: int) -> EventBatch:
    """``batch`` with L1 jets that differ from its offline jets: an L1 response (scaled, smeared,
    some jets lost, a few extra), coarse eta, not pt-ordered (columns sort them)."""
    rng = np.random.default_rng(seed)
    pt = ak.to_numpy(ak.flatten(batch.jets.pt)).astype(np.float64)
    eta = ak.to_numpy(ak.flatten(batch.jets.eta)).astype(np.float64)
    counts = ak.to_numpy(ak.num(batch.jets.pt))
    l1pt = pt * rng.uniform(0.6, 1.3, len(pt))
    keep = rng.random(len(pt)) > 0.15
    l1pt = np.round(l1pt * 2) / 2  # 0.5 GeV steps: exact threshold hits
    l1eta = np.round(eta / 0.087) * 0.087
    l1 = ak.unflatten(
        ak.zip({"pt": l1pt.astype(np.float32), "eta": l1eta.astype(np.float32)}), counts
    )[ak.unflatten(keep, counts)]
    extra = rng.poisson(1.0, len(batch))
    extras = ak.unflatten(
        ak.zip(
            {
                "pt": rng.uniform(20.0, 120.0, int(extra.sum())).astype(np.float32),
                "eta": rng.uniform(-2.4, 2.4, int(extra.sum())).astype(np.float32),
            }
        ),
        extra,
    )
    l1 = ak.concatenate([extras, l1], axis=1)  # extras first: not pt-ordered
    return replace(batch, l1jets=ak.zip({"pt": l1.pt, "eta": l1.eta, "phi": 0.0 * l1.pt}))


def test_l1_seeds_read_l1jets_in_both_engines_and_hlt_paths_offline_jets() -> None:
    """With L1 jets differing from the offline ones, both engines give L1 jet / HT cuts the L1
    jets and every other cut (L1 scores, HLT) the offline jets; a wrong collection fails."""
    menu = parse_menu(_every_cut_menu())
    cm = compile_menu(menu)
    n_l1 = cm.n_l1
    l1_kin = [
        i
        for i, seed in enumerate(menu.l1.values())
        if seed.cuts()
        and all(reads_l1_jets(t, c) and not reads_l1_scores(t, c) for t, c in seed.cuts())
        and not seed.any_of
    ]
    assert l1_kin  # the jets and ht seeds
    differ = 0
    for seed, signal in ((31, True), (32, False)):
        offline = synthetic_batch(400, seed, signal=signal)
        batch = _with_l1jets(offline, seed)
        cols = columns_from_batch(batch, cm)
        assert cols.l1_objects == "l1jets"
        one = run_onepass(cm, cols)
        np.testing.assert_array_equal(one, run_reference(cm, cols))
        np.testing.assert_array_equal(
            one, run_reference_events(menu, batch.jets, batch.fatjets, batch.l1jets)
        )
        # what each collection alone gives: HLT paths are the offline ones exactly, the L1
        # jet-kinematic seeds are the offline engine run on the L1 jets as if they were jets
        off = run_onepass(cm, columns_from_batch(offline, cm))
        seeds = list(menu.l1.values())
        l1jets = sorted_l1(batch)
        for i in l1_kin:
            alone = np.all([t.reference(c, l1jets, None) for t, c in seeds[i].cuts()], axis=0)
            np.testing.assert_array_equal(one[:, i], alone)
        differ += int(np.count_nonzero(one[:, l1_kin] != off[:, l1_kin]))
        # HLT paths not gated by L1 seeds read offline jets only
        unseeded = [n_l1 + p for p, path in enumerate(menu.hlt.values()) if not path.seeds]
        np.testing.assert_array_equal(one[:, unseeded], off[:, unseeded])
    assert differ > 20  # the L1 jets do change the L1 decisions: the test is not vacuous


def sorted_l1(batch: EventBatch) -> ak.Array:
    """The batch's L1 jets as (pt-ordered) jet records, for the one-collection comparison."""
    l1 = batch.l1jets
    return l1[ak.argsort(l1.pt, axis=1, ascending=False, stable=True)]


def test_batches_without_l1jets_keep_the_offline_kernel() -> None:
    """No l1jets: the plan and the generated source are exactly those of an offline-only menu."""
    cm = compile_menu(parse_menu(_every_cut_menu()))
    batch = synthetic_batch(50, 3)
    cols = columns_from_batch(batch, cm)
    assert cols.l1_objects == "offline jets" and cols.l1_buffers()[1] is cols.jet_pt
    plain = generate_source(cm, plan_menu(cm))
    assert "lpt[j]" not in plain and "lpt[j]" in generate_source(cm, plan_menu(cm, True))


def test_a_parquet_file_with_l1jets_is_emulated_on_them_and_says_so(tmp_path) -> None:
    """Read from Parquet for the menu's fields only, a file with l1jets still gives the L1 seeds
    its L1 jets, and the sample says which jets the L1 stage used."""
    cm = compile_menu(parse_menu(_every_cut_menu()))
    offline = synthetic_batch(300, 41, signal=True)
    with_l1 = _with_l1jets(offline, 41)
    path = tmp_path / "l1.parquet"
    write_parquet([with_l1], path)
    fields = needed_fields(cm.menu, leaf_fields(path))
    assert fields is not None and {"l1jets.pt", "l1jets.eta"} <= set(fields)
    (got,) = run_files(cm, [path])
    direct = assemble_sample(cm, "l1", [evaluate_batch(cm, with_l1)])
    assert got.l1_objects == direct.l1_objects == "l1jets"
    np.testing.assert_array_equal(got.decisions.l1_raw, direct.decisions.l1_raw)
    plain = assemble_sample(cm, "off", [evaluate_batch(cm, offline)])
    assert plain.l1_objects == "offline jets"
    assert np.any(plain.decisions.l1_raw != got.decisions.l1_raw)
