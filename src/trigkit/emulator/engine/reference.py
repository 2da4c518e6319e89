"""The reference interpreter: each cut's columnar reference evaluation, trigger by trigger.

Every cut type evaluates itself on every event with awkward-array operations
(:meth:`~trigkit.emulator.cuts.base.CutType.reference`: float64 comparisons of the float32
values, no reliance on jet ordering, no early exit); a trigger is the AND of its cuts, an
``any_of`` seed also needs one of its seeds, an HLT path one of its (unprescaled) seeds. Raw
decisions have the layout and meaning of :func:`trigkit.emulator.engine.onepass.run_onepass`.
Slow: for tests and as the ``awkward`` contender of ``trigkit bench emulator``.
"""

from __future__ import annotations

import awkward as ak
import numpy as np

from trigkit.emulator.columns import Columns
from trigkit.emulator.compiled import CompiledMenu
from trigkit.emulator.schema import Menu, Trigger


def _trigger(trig: Trigger, jets: ak.Array, fat: ak.Array | None) -> np.ndarray:
    ok = np.ones(len(jets), dtype=bool)
    for t, cut in trig.cuts():
        ok &= t.reference(cut, jets, fat)
    return ok


def run_reference_events(menu: Menu, jets: ak.Array, fatjets: ak.Array | None = None) -> np.ndarray:
    """Raw decisions (n_events, n_l1 + n_hlt) of ``menu`` on awkward ``jets`` / ``fatjets``."""
    n = len(jets)
    l1 = {name: _trigger(seed, jets, fatjets) for name, seed in menu.l1.items()}
    for name, seed in menu.l1.items():
        if seed.any_of:
            l1[name] = l1[name] & np.any([l1[r] for r in seed.any_of], axis=0)
    cols = list(l1.values())
    for path in menu.hlt.values():
        seeded = (
            np.any([l1[s] for s in path.seeds], axis=0) if path.seeds else np.ones(n, dtype=bool)
        )
        cols.append(seeded & _trigger(path, jets, fatjets))
    return np.stack(cols, axis=1) if cols else np.zeros((n, 0), dtype=bool)


def _objects(offsets: np.ndarray, fields: dict[str, np.ndarray]) -> ak.Array:
    counts = np.diff(offsets)
    return ak.zip({k: ak.unflatten(v, counts) for k, v in fields.items()}, depth_limit=2)


def run_reference(cm: CompiledMenu, cols: Columns) -> np.ndarray:
    """Raw decisions of ``cm`` on the flat buffers the kernel reads (the same values)."""
    jets = _objects(
        cols.jet_offsets,
        {"pt": cols.jet_pt, "eta": cols.jet_eta}
        | {f: cols.jet_scores[i] for i, f in enumerate(cm.jet_fields)},
    )
    fat = None
    if cm.menu.uses_fatjets():
        fat = _objects(
            cols.fat_offsets,
            {"pt": cols.fat_pt, "eta": cols.fat_eta, "msd": cols.fat_msd}
            | {f: cols.fat_scores[i] for i, f in enumerate(cm.fatjet_fields)},
        )
    return run_reference_events(cm.menu, jets, fat)
