"""Every registered cut type through both engines: identical decisions on the same events."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import yaml

from tests.emulator.conftest import synthetic_batch
from trigkit.core.errors import TrigkitError
from trigkit.emulator.columns import columns_from_batch
from trigkit.emulator.compiled import compile_menu
from trigkit.emulator.cuts import CUT_TYPES, cut_types
from trigkit.emulator.cuts.base import CutType, check_cut_type, registered
from trigkit.emulator.cuts.ht import HT
from trigkit.emulator.engine.onepass import run_onepass
from trigkit.emulator.engine.reference import run_reference, run_reference_events
from trigkit.emulator.schema import parse_menu


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
