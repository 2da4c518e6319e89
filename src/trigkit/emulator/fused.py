"""Per-cut fused numba pass (:func:`run_perpath`), and :func:`run_fused`, the entry point.

:func:`run_perpath`: one numba pass per event evaluating all L1 seeds and all HLT paths of a compiled menu.

For each event (``prange`` over events) the kernel walks the trigger table in
:attr:`CompiledMenu.order`: plain L1 seeds, then seeds with ``any_of``, then HLT paths. A trigger
with a *gate* (the seeds an ``any_of`` seed or an HLT path requires) is evaluated only when one of
them fired (unprescaled); its cuts are ANDed and the first failing cut stops it. The opcode
dispatch is written inline in the loop, and the last HT and top-k score sum computed for the event
are kept in scalar registers, so cuts differing only in their threshold (HTT320/HTT360, the
PNet2BTagMean and 2BTagSum paths) compute them once per event. The output row of an HLT path is therefore
"L1 seed (raw) AND HLT filters"; prescales are applied afterwards in
:mod:`trigkit.emulator.stages` with deterministic counters, which need the events in order.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

from trigkit.emulator.columns import Columns
from trigkit.emulator.compiled import OP_COUNT, OP_FATJET, OP_HT, OP_JETS, OP_MEAN, CompiledMenu
from trigkit.emulator.kernels import fatjet_pass, ht_sum, jets_pass, score_count, score_top_sum


@njit(cache=True, parallel=True)
def _fused(
    ci,
    cf,
    thr,
    cut_start,
    order,
    gate_start,
    gate_idx,  # noqa: ANN001, ANN201
    jo,
    pt,
    eta,
    sc,
    fo,
    fpt,
    feta,
    fmsd,
    fsc,
    out,
):
    n_events = len(jo) - 1
    for e in prange(n_events):
        j0 = jo[e]
        j1 = jo[e + 1]
        # one-entry caches (scalars, kept in registers): cuts that differ only in their threshold
        # (L1_HTT320er / L1_HTT360er, the PNet2BTagMean / 2BTagSum paths) share one computation
        ht_pt = -1.0
        ht_eta = -1.0
        ht_lead = -1
        ht_val = 0.0
        top_fld = -1
        top_k = -1
        top_pt = -1.0
        top_eta = -1.0
        top_val = 0.0
        top_n = 0
        for t in order:
            # gate: one of the referenced triggers (L1 seeds) must have fired; none = ungated
            ok = gate_start[t + 1] == gate_start[t]
            for g in range(gate_start[t], gate_start[t + 1]):
                if out[e, gate_idx[g]]:
                    ok = True
                    break
            if ok:
                for c in range(cut_start[t], cut_start[t + 1]):  # AND of cuts, first failure stops
                    op = ci[c, 0]
                    if op == OP_JETS:
                        ok = jets_pass(pt, eta, j0, j1, thr, ci[c, 3], ci[c, 2], cf[c, 1])
                    elif op == OP_HT:
                        # one-entry per-event cache, keyed by the selection and the leading-N limit
                        if cf[c, 0] != ht_pt or cf[c, 1] != ht_eta or ci[c, 2] != ht_lead:
                            ht_pt = cf[c, 0]
                            ht_eta = cf[c, 1]
                            ht_lead = ci[c, 2]
                            ht_val = ht_sum(pt, eta, j0, j1, ht_pt, ht_eta, ht_lead)
                        ok = ht_val >= cf[c, 2]
                    elif op == OP_COUNT:
                        n = ci[c, 2]
                        ok = (
                            score_count(
                                pt, eta, sc[ci[c, 1]], j0, j1, cf[c, 0], cf[c, 1], cf[c, 2], n
                            )
                            >= n
                        )
                    elif op == OP_FATJET:
                        ok = fatjet_pass(
                            fpt,
                            feta,
                            fmsd,
                            fsc[ci[c, 1]],
                            fo[e],
                            fo[e + 1],
                            cf[c, 0],
                            cf[c, 1],
                            cf[c, 2],
                            cf[c, 3],
                            ci[c, 2],
                        )
                    else:
                        k = ci[c, 2]
                        if (
                            ci[c, 1] != top_fld
                            or k != top_k
                            or cf[c, 0] != top_pt
                            or cf[c, 1] != top_eta
                        ):
                            top_fld = ci[c, 1]
                            top_k = k
                            top_pt = cf[c, 0]
                            top_eta = cf[c, 1]
                            top_val, top_n = score_top_sum(
                                pt, eta, sc[top_fld], j0, j1, top_pt, top_eta, k
                            )
                        total = top_val
                        n = top_n
                        if n < k:
                            ok = False
                        elif op == OP_MEAN:
                            ok = total / k >= cf[c, 2]
                        else:
                            ok = total >= cf[c, 2]
                    if not ok:
                        break
            out[e, t] = ok
    return out


def run_fused(cmenu: CompiledMenu, cols: Columns, n_threads: int | None = None) -> np.ndarray:
    """Raw decisions, bool (n_events, n_l1 + n_hlt), columns in :attr:`CompiledMenu.trigger_names`
    order; HLT columns include their (unprescaled) L1 seed requirement.

    Runs the one-pass kernel (:func:`trigkit.emulator.onepass.run_onepass`: each event's jets read
    once); :func:`run_perpath` is the previous opcode-interpreting pass, kept as a reference."""
    from trigkit.emulator.onepass import run_onepass

    return run_onepass(cmenu, cols, n_threads)


def run_perpath(cmenu: CompiledMenu, cols: Columns, n_threads: int | None = None) -> np.ndarray:
    """Same decisions as :func:`run_fused` from the opcode table, one jet loop per cut."""
    out = np.zeros((cols.n_events, cmenu.n_l1 + cmenu.n_hlt), dtype=np.bool_)
    previous = numba.get_num_threads()
    if n_threads is not None:
        numba.set_num_threads(max(1, min(n_threads, numba.config.NUMBA_NUM_THREADS)))
    try:
        _fused(
            cmenu.cut_int,
            cmenu.cut_float,
            cmenu.thr,
            cmenu.trig_cut_start,
            cmenu.order,
            cmenu.gate_start,
            cmenu.gate_idx,
            cols.jet_offsets,
            cols.jet_pt,
            cols.jet_eta,
            cols.jet_scores,
            cols.fat_offsets,
            cols.fat_pt,
            cols.fat_eta,
            cols.fat_msd,
            cols.fat_scores,
            out,
        )
    finally:
        numba.set_num_threads(previous)
    return out
