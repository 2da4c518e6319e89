"""ONE fused numba pass per event evaluating all L1 seeds and all HLT paths of a compiled menu.

For each event (``prange`` over events) the kernel walks the trigger table: L1 seeds first (plain
seeds, then seeds with ``any_of``), then each HLT path, which is evaluated only when one of its
L1 seeds fired (unprescaled) and stops at its first failing cut. The output row of an HLT path is
therefore "L1 seed (raw) AND HLT filters"; prescales are applied afterwards in
:mod:`trigkit.emulator.stages` with deterministic counters, which need the events in order.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

from trigkit.emulator.columns import Columns
from trigkit.emulator.compiled import OP_COUNT, OP_FATJET, OP_HT, OP_JETS, OP_MEAN, CompiledMenu
from trigkit.emulator.kernels import fatjet_pass, ht_sum, jets_pass, score_count, score_top_sum


@njit(cache=True, nogil=True, inline="always")
def _cut_passes(c, ci, cf, thr, e, jo, pt, eta, sc, fo, fpt, feta, fmsd, fsc):  # noqa: ANN001, ANN201
    op = ci[c, 0]
    j0 = jo[e]
    j1 = jo[e + 1]
    if op == OP_JETS:
        return jets_pass(pt, eta, j0, j1, thr, ci[c, 3], ci[c, 2], cf[c, 1])
    if op == OP_HT:
        return ht_sum(pt, eta, j0, j1, cf[c, 0], cf[c, 1]) >= cf[c, 2]
    if op == OP_COUNT:
        return score_count(pt, eta, sc[ci[c, 1]], j0, j1, cf[c, 0], cf[c, 1], cf[c, 2], ci[c, 2]) >= ci[c, 2]
    if op == OP_FATJET:
        return fatjet_pass(fpt, feta, fmsd, fsc[ci[c, 1]], fo[e], fo[e + 1], cf[c, 0], cf[c, 1], cf[c, 2], cf[c, 3], ci[c, 2])
    k = ci[c, 2]
    total, n = score_top_sum(pt, eta, sc[ci[c, 1]], j0, j1, cf[c, 0], cf[c, 1], k)
    if n < k:
        return False
    if op == OP_MEAN:
        return total / k >= cf[c, 2]
    return total >= cf[c, 2]


@njit(cache=True, nogil=True, inline="always")
def _trigger_passes(t, start, ci, cf, thr, e, jo, pt, eta, sc, fo, fpt, feta, fmsd, fsc):  # noqa: ANN001, ANN201
    for c in range(start[t], start[t + 1]):
        if not _cut_passes(c, ci, cf, thr, e, jo, pt, eta, sc, fo, fpt, feta, fmsd, fsc):
            return False
    return True


@njit(cache=True, parallel=True)
def _fused(ci, cf, thr, start, n_l1, n_hlt, or_start, or_idx, seed_start, seed_idx,  # noqa: ANN001, ANN201
           jo, pt, eta, sc, fo, fpt, feta, fmsd, fsc, out):
    n_events = len(jo) - 1
    for e in prange(n_events):
        for s in range(n_l1):
            if or_start[s + 1] == or_start[s]:
                out[e, s] = _trigger_passes(s, start, ci, cf, thr, e, jo, pt, eta, sc, fo, fpt, feta, fmsd, fsc)
        for s in range(n_l1):
            if or_start[s + 1] > or_start[s]:
                any_ref = False
                for r in range(or_start[s], or_start[s + 1]):
                    if out[e, or_idx[r]]:
                        any_ref = True
                        break
                out[e, s] = any_ref and _trigger_passes(s, start, ci, cf, thr, e, jo, pt, eta, sc, fo, fpt, feta, fmsd, fsc)
        for p in range(n_hlt):
            seeded = seed_start[p + 1] == seed_start[p]
            for r in range(seed_start[p], seed_start[p + 1]):
                if out[e, seed_idx[r]]:
                    seeded = True
                    break
            t = n_l1 + p
            out[e, t] = seeded and _trigger_passes(t, start, ci, cf, thr, e, jo, pt, eta, sc, fo, fpt, feta, fmsd, fsc)
    return out


def run_fused(cmenu: CompiledMenu, cols: Columns, n_threads: int | None = None) -> np.ndarray:
    """Raw decisions, bool (n_events, n_l1 + n_hlt), columns in :attr:`CompiledMenu.trigger_names`
    order; HLT columns include their (unprescaled) L1 seed requirement."""
    out = np.zeros((cols.n_events, cmenu.n_l1 + cmenu.n_hlt), dtype=np.bool_)
    previous = numba.get_num_threads()
    if n_threads is not None:
        numba.set_num_threads(max(1, min(n_threads, numba.config.NUMBA_NUM_THREADS)))
    try:
        _fused(
            cmenu.cut_int, cmenu.cut_float, cmenu.thr, cmenu.trig_cut_start, cmenu.n_l1, cmenu.n_hlt,
            cmenu.l1_or_start, cmenu.l1_or_idx, cmenu.hlt_seed_start, cmenu.hlt_seed_idx,
            cols.jet_offsets, cols.jet_pt, cols.jet_eta, cols.jet_scores,
            cols.fat_offsets, cols.fat_pt, cols.fat_eta, cols.fat_msd, cols.fat_scores, out,
        )
    finally:
        numba.set_num_threads(previous)
    return out
