"""ONE fused numba pass per event evaluating all L1 seeds and all HLT paths of a compiled menu.

For each event (``prange`` over events) the kernel walks the trigger table in
:attr:`CompiledMenu.order`: plain L1 seeds, then seeds with ``any_of``, then HLT paths. A trigger
with a *gate* (the seeds an ``any_of`` seed or an HLT path requires) is evaluated only when one of
them fired (unprescaled); its cuts are ANDed and the first failing cut stops it. Cuts that differ
only by threshold share one per-event *quantity* (HT of a jet selection, top-k score sum, score
count...), computed at most once per event when first needed (see ``compiled._quantities``).
Events are processed in blocks of ``BLOCK`` (one prange work item each, with its own scratch). The output row of an HLT path is
therefore "L1 seed (raw) AND HLT filters"; prescales are applied afterwards in
:mod:`trigkit.emulator.stages` with deterministic counters, which need the events in order.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange  # noqa: F401

from trigkit.emulator.columns import Columns
from trigkit.emulator.compiled import OP_COUNT, OP_FATJET, OP_HT, OP_JETS, OP_MEAN, CompiledMenu
from trigkit.emulator.kernels import fatjet_pass, ht_sum, jets_pass, score_count, score_top_sum


BLOCK = 4096  # events per parallel work item (each with its own quantity scratch)


@njit(cache=True, nogil=True)
def _quantity(q, qi, qf, thr, e, j0, j1, pt, eta, sc, fo, fpt, feta, fmsd, fsc, val, cnt):  # noqa: ANN001, ANN201
    """Compute shared quantity ``q`` of event ``e`` into val[q] (float) / cnt[q] (int)."""
    op = qi[q, 0]
    if op == OP_JETS:
        cnt[q] = 1 if jets_pass(pt, eta, j0, j1, thr, qi[q, 3], qi[q, 2], qf[q, 1]) else 0
    elif op == OP_HT:
        val[q] = ht_sum(pt, eta, j0, j1, qf[q, 0], qf[q, 1])
    elif op == OP_COUNT:
        cnt[q] = score_count(pt, eta, sc[qi[q, 1]], j0, j1, qf[q, 0], qf[q, 1], qf[q, 2], qi[q, 2])
    elif op == OP_MEAN:
        total, n = score_top_sum(pt, eta, sc[qi[q, 1]], j0, j1, qf[q, 0], qf[q, 1], qi[q, 2])
        val[q] = total
        cnt[q] = n
    else:
        ok = fatjet_pass(fpt, feta, fmsd, fsc[qi[q, 1]], fo[e], fo[e + 1], qf[q, 0], qf[q, 1], qf[q, 2], qf[q, 3], qi[q, 2])
        cnt[q] = 1 if ok else 0


@njit(cache=True, nogil=True)
def _block(lo, hi, ci, cf, cut_q, qi, qf, thr, cut_start, order, gate_start, gate_idx,  # noqa: ANN001, ANN201
           jo, pt, eta, sc, fo, fpt, feta, fmsd, fsc, out):
    nq = qi.shape[0]
    stamp = np.full(nq, -1, dtype=np.int64)  # stamp[q] == e: quantity q already computed for e
    val = np.zeros(nq, dtype=np.float64)
    cnt = np.zeros(nq, dtype=np.int64)
    for e in range(lo, hi):
        j0 = jo[e]
        j1 = jo[e + 1]
        for t in order:
            # gate: one of the referenced triggers (L1 seeds) must have fired; none = ungated
            ok = gate_start[t + 1] == gate_start[t]
            for g in range(gate_start[t], gate_start[t + 1]):
                if out[e, gate_idx[g]]:
                    ok = True
                    break
            if ok:
                for c in range(cut_start[t], cut_start[t + 1]):  # AND of cuts, first failure stops
                    q = cut_q[c]
                    if stamp[q] != e:
                        _quantity(q, qi, qf, thr, e, j0, j1, pt, eta, sc, fo, fpt, feta, fmsd, fsc, val, cnt)
                        stamp[q] = e
                    op = ci[c, 0]
                    if op == OP_JETS or op == OP_FATJET:
                        ok = cnt[q] > 0
                    elif op == OP_HT:
                        ok = val[q] >= cf[c, 2]
                    elif op == OP_COUNT:
                        ok = cnt[q] >= ci[c, 2]
                    elif op == OP_MEAN:
                        ok = cnt[q] >= ci[c, 2] and val[q] / ci[c, 2] >= cf[c, 2]
                    else:
                        ok = cnt[q] >= ci[c, 2] and val[q] >= cf[c, 2]
                    if not ok:
                        break
            out[e, t] = ok


@njit(cache=True, parallel=True)
def _fused(ci, cf, cut_q, qi, qf, thr, cut_start, order, gate_start, gate_idx,  # noqa: ANN001, ANN201
           jo, pt, eta, sc, fo, fpt, feta, fmsd, fsc, out):
    n_events = len(jo) - 1
    n_blocks = (n_events + BLOCK - 1) // BLOCK
    for b in prange(n_blocks):
        lo = b * BLOCK
        hi = min(lo + BLOCK, n_events)
        _block(lo, hi, ci, cf, cut_q, qi, qf, thr, cut_start, order, gate_start, gate_idx,
               jo, pt, eta, sc, fo, fpt, feta, fmsd, fsc, out)
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
            cmenu.cut_int, cmenu.cut_float, cmenu.cut_q, cmenu.q_int, cmenu.q_float, cmenu.thr,
            cmenu.trig_cut_start, cmenu.order,
            cmenu.gate_start, cmenu.gate_idx, cols.jet_offsets, cols.jet_pt, cols.jet_eta, cols.jet_scores,
            cols.fat_offsets, cols.fat_pt, cols.fat_eta, cols.fat_msd, cols.fat_scores, out,
        )
    finally:
        numba.set_num_threads(previous)
    return out
