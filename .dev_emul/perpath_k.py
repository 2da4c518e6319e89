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

OP_JETS, OP_HT, OP_COUNT, OP_MEAN, OP_SUM, OP_FATJET = range(6)
from trigkit.emulator.kernels import fatjet_pass, ht_sum, jets_pass, score_count, score_top_sum


@njit(cache=True, parallel=True)
def _fused(ci, cf, thr, cut_start, order, gate_start, gate_idx,  # noqa: ANN001, ANN201
           jo, pt, eta, sc, fo, fpt, feta, fmsd, fsc, out):
    n_events = len(jo) - 1
    for e in prange(n_events):
        j0 = jo[e]
        j1 = jo[e + 1]
        # one-entry caches (scalars, kept in registers): cuts that differ only in their threshold
        # (L1_HTT320er / L1_HTT360er, the PNet2BTagMean / 2BTagSum paths) share one computation
        ht_pt = -1.0
        ht_eta = -1.0
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
                        if cf[c, 0] != ht_pt or cf[c, 1] != ht_eta:  # one-entry per-event cache
                            ht_pt = cf[c, 0]
                            ht_eta = cf[c, 1]
                            ht_val = ht_sum(pt, eta, j0, j1, ht_pt, ht_eta)
                        ok = ht_val >= cf[c, 2]
                    elif op == OP_COUNT:
                        n = ci[c, 2]
                        ok = score_count(pt, eta, sc[ci[c, 1]], j0, j1, cf[c, 0], cf[c, 1], cf[c, 2], n) >= n
                    elif op == OP_FATJET:
                        ok = fatjet_pass(fpt, feta, fmsd, fsc[ci[c, 1]], fo[e], fo[e + 1],
                                         cf[c, 0], cf[c, 1], cf[c, 2], cf[c, 3], ci[c, 2])
                    else:
                        k = ci[c, 2]
                        if ci[c, 1] != top_fld or k != top_k or cf[c, 0] != top_pt or cf[c, 1] != top_eta:
                            top_fld = ci[c, 1]
                            top_k = k
                            top_pt = cf[c, 0]
                            top_eta = cf[c, 1]
                            top_val, top_n = score_top_sum(pt, eta, sc[top_fld], j0, j1, top_pt, top_eta, k)
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


