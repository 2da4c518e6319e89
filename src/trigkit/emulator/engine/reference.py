"""The reference interpreter: each cut's columnar reference evaluation, trigger by trigger.

Every cut type evaluates itself on every event with awkward-array operations
(:meth:`~trigkit.emulator.cuts.base.CutType.reference`: float64 comparisons of the float32
values, no reliance on jet ordering, no early exit); a trigger is the AND of its cuts, an
``any_of`` seed also needs one of its seeds, an HLT path one of its (unprescaled) seeds. L1
seeds' jet-kinematic cuts read the L1 jets when the events have them. Raw
decisions have the layout and meaning of :func:`trigkit.emulator.engine.onepass.run_onepass`.
Slow: for tests and as the ``awkward`` contender of ``trigkit bench emulator``.
"""

from __future__ import annotations

import awkward as ak
import numpy as np

from trigkit.emulator.columns import L1JETS, Columns
from trigkit.emulator.compiled import CompiledMenu, reads_l1_jets, reads_l1_scores
from trigkit.emulator.schema import Menu, Trigger


def _trigger(
    trig: Trigger,
    jets: ak.Array,
    fat: ak.Array | None,
    l1jets: ak.Array | None = None,
    l1_scores: bool = False,
) -> np.ndarray:
    """AND of the cuts; given ``l1jets`` (an L1 seed of events with L1 jets), the cuts that read
    L1 jets (:func:`~trigkit.emulator.compiled.reads_l1_jets`; score cuts only with
    ``l1_scores``: the L1 jets carry the L1 tagger's scores) get those instead of ``jets``."""
    ok = np.ones(len(jets), dtype=bool)
    for t, cut in trig.cuts():
        on_l1 = l1jets is not None and reads_l1_jets(t, cut)
        on_l1 = on_l1 and (l1_scores or not reads_l1_scores(t, cut))
        ok &= t.reference(cut, l1jets if on_l1 else jets, fat)
    return ok


def run_reference_events(
    menu: Menu,
    jets: ak.Array,
    fatjets: ak.Array | None = None,
    l1jets: ak.Array | None = None,
    l1_scores: bool = False,
) -> np.ndarray:
    """Raw decisions (n_events, n_l1 + n_hlt) of ``menu`` on awkward ``jets`` / ``fatjets``;
    L1 seeds' jet-kinematic cuts read ``l1jets`` when given (else ``jets``), and their score
    cuts too with ``l1_scores``; HLT paths read ``jets``."""
    n = len(jets)
    l1 = {name: _trigger(seed, jets, fatjets, l1jets, l1_scores) for name, seed in menu.l1.items()}
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
    l1jets = None
    on_l1 = cols.l1_tagger_objects == L1JETS
    if cols.l1_objects == L1JETS:
        l1off, l1pt, l1eta = cols.l1_buffers()
        sc = cols.l1_score_buffer()
        fields = {f: sc[i] for i, f in enumerate(cm.l1_jet_fields)} if on_l1 else {}
        l1jets = _objects(l1off, {"pt": l1pt, "eta": l1eta} | fields)
    return run_reference_events(cm.menu, jets, fat, l1jets, on_l1)
