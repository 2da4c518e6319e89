"""Hand-counted cases of one cut type, each decided by both engines (which must agree)."""

from __future__ import annotations

from typing import Any

import numpy as np
import yaml

from tests.emulator.conftest import make_batch
from trigkit.emulator.columns import columns_from_batch
from trigkit.emulator.compiled import compile_menu
from trigkit.emulator.engine.onepass import run_onepass
from trigkit.emulator.engine.reference import run_reference, run_reference_events
from trigkit.emulator.schema import parse_menu

# one event, jets ordered by decreasing pt
PT = [100.0, 80.0, 60.0, 45.0, 31.0, 29.0]
ETA = [0.1, -2.6, 1.0, -1.0, 2.4, 0.0]
BTAG = [0.2, 0.99, 0.7, 0.9, 0.55, 0.95]


def jets(pt=PT, eta=ETA, btag=BTAG) -> list[dict]:  # noqa: ANN001
    return [
        {"pt": p, "eta": e, "btag": b, "l1_score": b} for p, e, b in zip(pt, eta, btag, strict=True)
    ]


def decide(
    key: str, cases: list[dict[str, Any]], events: list[list[dict]], fat=None, level: str = "hlt"
) -> np.ndarray:  # noqa: ANN001
    """Decisions (n_events, n_cases) of one trigger per case holding the cut ``key: case``;
    the one-pass kernel, the reference on the flat buffers and on the awkward events agree."""
    l1 = {"L1_any": {"ht": {"min": 0.0, "jet_pt": 0.0, "jet_abs_eta": 10.0}}}
    hlt = {"H_any": {"seeds": [], "ht": {"min": 0.0, "jet_pt": 0.0, "jet_abs_eta": 10.0}}}
    for i, case in enumerate(cases):
        if level == "l1":
            l1[f"L1_{i}"] = {key: case}
        else:
            hlt[f"H_{i}"] = {"seeds": [], key: case}
    menu = parse_menu(yaml.safe_dump({"name": f"cases_{key}", "l1": l1, "hlt": hlt}))
    cm = compile_menu(menu)
    batch = make_batch(events, fat)
    cols = columns_from_batch(batch, cm)
    one = run_onepass(cm, cols)
    np.testing.assert_array_equal(one, run_reference(cm, cols))
    np.testing.assert_array_equal(one, run_reference_events(menu, batch.jets, batch.fatjets))
    names = cm.trigger_names
    prefix = "L1_" if level == "l1" else "H_"
    return one[:, [names.index(f"{prefix}{i}") for i in range(len(cases))]]
