"""Per-path, per-event pure-Python evaluation built on the kernels' uncompiled ``py_func``.

This is the JIT-free reference (what ``NUMBA_DISABLE_JIT=1`` would run) for the fused pass:
same primitives, but each trigger evaluated separately, one event at a time, without opcodes.
Slow; for tests on small samples.
"""

from __future__ import annotations

import numpy as np

from trigkit.emulator.columns import Columns
from trigkit.emulator.compiled import CompiledMenu
from trigkit.emulator.kernels import fatjet_pass, ht_sum, jets_pass, score_count, score_top_sum
from trigkit.emulator.schema import HLTPath, L1Seed


def _trigger(trig: L1Seed | HLTPath, cm: CompiledMenu, c: Columns, e: int) -> bool:
    j0, j1 = int(c.jet_offsets[e]), int(c.jet_offsets[e + 1])
    pt, eta = c.jet_pt, c.jet_eta
    if trig.jets is not None:
        thr = np.array(trig.jets.pt, dtype=np.float64)
        if not jets_pass.py_func(pt, eta, j0, j1, thr, 0, len(thr), trig.jets.abs_eta):
            return False
    # `not x >= min` (not `x < min`): a NaN sum (+inf and -inf scores) fails, as in the kernels
    ht = trig.ht
    if (
        ht is not None
        and not ht_sum.py_func(pt, eta, j0, j1, ht.jet_pt, ht.jet_abs_eta, ht.leading or 0)
        >= ht.min
    ):
        return False
    for attr in ("tagger", "btag_count"):
        cut = getattr(trig, attr, None)
        if cut is not None:
            sc = c.jet_scores[cm.jet_fields.index(cut.field)]
            if (
                score_count.py_func(pt, eta, sc, j0, j1, cut.jet_pt, cut.jet_abs_eta, cut.wp, cut.n)
                < cut.n
            ):
                return False
    for attr in ("btag_mean", "btag_sum"):
        cut = getattr(trig, attr, None)
        if cut is not None:
            sc = c.jet_scores[cm.jet_fields.index(cut.field)]
            total, n = score_top_sum.py_func(
                pt, eta, sc, j0, j1, cut.jet_pt, cut.jet_abs_eta, cut.top
            )
            value = total / cut.top if attr == "btag_mean" else total
            if n < cut.top or not value >= cut.min:
                return False
    fj = getattr(trig, "fatjet", None)
    if fj is not None:
        f0, f1 = int(c.fat_offsets[e]), int(c.fat_offsets[e + 1])
        xbb = c.fat_scores[cm.fatjet_fields.index(fj.xbb_field)] if fj.xbb is not None else c.fat_pt
        xmin = -np.inf if fj.xbb is None else fj.xbb
        if not fatjet_pass.py_func(
            c.fat_pt, c.fat_eta, c.fat_msd, xbb, f0, f1, fj.pt, fj.abs_eta, fj.msd, xmin, fj.n
        ):
            return False
    return True


def run_reference(cm: CompiledMenu, cols: Columns) -> np.ndarray:
    """Raw decisions with the same layout and meaning as the fused pass."""
    menu = cm.menu
    out = np.zeros((cols.n_events, cm.n_l1 + cm.n_hlt), dtype=bool)
    names = menu.l1_names
    for e in range(cols.n_events):
        l1 = {n: _trigger(s, cm, cols, e) for n, s in menu.l1.items()}
        for n, s in menu.l1.items():
            if s.any_of:
                l1[n] = l1[n] and any(l1[r] for r in s.any_of)
        out[e, : len(names)] = [l1[n] for n in names]
        for p, path in enumerate(menu.hlt.values()):
            seeded = any(l1[s] for s in path.seeds) if path.seeds else True
            out[e, cm.n_l1 + p] = seeded and _trigger(path, cm, cols, e)
    return out
