"""Compile a :class:`~trigkit.emulator.compiled.CompiledMenu` into per-event *registers*.

The one-pass kernel (:mod:`trigkit.emulator.onepass`) reads each event's jets once and keeps,
for every distinct jet selection of the menu, the quantity its cuts need:

* ``lead`` groups (one per distinct ``abs_eta`` of the ``jets:`` multiplicity cuts): the pt of the
  first ``lead_n`` jets within |eta| (jets are pt-ordered, so "N jets above t1 >= t2 >= ..." is
  "the i-th selected jet has pt >= t_i");
* ``ht`` selections (jet pt, |eta|, leading N; N = 0: every selected jet): the HT; a leading-N
  HT is its own register (the sum of the first N selected jets), next to the all-jets HT;
* ``top`` selections (score field, jet pt, |eta|): the number of selected jets and their ``top_k``
  highest scores (k <= 4), for the top-k mean / sum cuts;
* ``cnt`` selections (score field, jet pt, |eta|, working point): the number of jets above the WP;
* large-R cuts (field, pt, |eta|, msd, Xbb): the number of large-R jets passing (counted by the
  generated large-R loop; not part of this plan's arrays).

``cut_reg[c]`` is the register (group / selection index) cut row ``c`` reads. ``pt_floor`` is the
lowest pt threshold of any jet cut: jets are pt-ordered, so the first jet below it ends the loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trigkit.emulator.compiled import OP_COUNT, OP_FATJET, OP_HT, OP_JETS, CompiledMenu


@dataclass(frozen=True)
class OnePassPlan:
    lead_eta: np.ndarray  # float64 (n_lead,)
    lead_n: np.ndarray  # int64 (n_lead,)
    ht_pt: np.ndarray  # float64 (n_ht,)
    ht_eta: np.ndarray
    ht_lead: np.ndarray  # int64 (n_ht,): sum the first N selected jets; 0: all of them
    top_fld: np.ndarray  # int64 (n_top,)
    top_pt: np.ndarray  # float64 (n_top,)
    top_eta: np.ndarray
    cnt_fld: np.ndarray  # int64 (n_cnt,)
    cnt_pt: np.ndarray  # float64 (n_cnt,)
    cnt_eta: np.ndarray
    cnt_wp: np.ndarray
    cut_reg: np.ndarray  # int64 (n_cut,)
    pt_floor: float


def _index(table: list[tuple], key: tuple) -> int:
    if key not in table:
        table.append(key)
    return table.index(key)


def plan_menu(cm: CompiledMenu) -> OnePassPlan:
    """Distinct jet selections of ``cm`` and, for each cut row, the register it reads."""
    lead: list[tuple] = []
    lead_n: dict[int, int] = {}
    ht: list[tuple] = []
    top: list[tuple] = []
    cnt: list[tuple] = []
    fat: list[tuple] = []
    regs: list[int] = []
    floors: list[float] = []
    for c in range(len(cm.cut_int)):
        op, fld, n, t0 = (int(v) for v in cm.cut_int[c])
        a, b, v, _ = (float(x) for x in cm.cut_float[c])
        if op == OP_JETS:
            r = _index(lead, (b,))
            lead_n[r] = max(lead_n.get(r, 0), n)
            floors.append(float(np.min(cm.thr[t0 : t0 + n])))
        elif op == OP_HT:
            r = _index(ht, (a, b, n))
            floors.append(a)
        elif op == OP_COUNT:
            r = _index(cnt, (fld, a, b, v))
            floors.append(a)
        elif op == OP_FATJET:
            r = _index(fat, (fld, a, b, v, float(cm.cut_float[c, 3])))  # read in their own loop
        else:  # top-k mean / sum
            r = _index(top, (fld, a, b))
            floors.append(a)
        regs.append(r)
    f64, i64 = np.float64, np.int64
    return OnePassPlan(
        lead_eta=np.array([k[0] for k in lead], dtype=f64),
        lead_n=np.array([lead_n[r] for r in range(len(lead))], dtype=i64),
        ht_pt=np.array([k[0] for k in ht], dtype=f64),
        ht_eta=np.array([k[1] for k in ht], dtype=f64),
        ht_lead=np.array([k[2] for k in ht], dtype=i64),
        top_fld=np.array([k[0] for k in top], dtype=i64),
        top_pt=np.array([k[1] for k in top], dtype=f64),
        top_eta=np.array([k[2] for k in top], dtype=f64),
        cnt_fld=np.array([k[0] for k in cnt], dtype=i64),
        cnt_pt=np.array([k[1] for k in cnt], dtype=f64),
        cnt_eta=np.array([k[2] for k in cnt], dtype=f64),
        cnt_wp=np.array([k[3] for k in cnt], dtype=f64),
        cut_reg=np.array(regs, dtype=i64),
        pt_floor=min(floors) if floors else np.inf,
    )
