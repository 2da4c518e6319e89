"""Compile a :class:`~trigkit.emulator.schema.Menu` into flat arrays of opcodes and thresholds.

Triggers are numbered L1 seeds first (menu order), then HLT paths. Each trigger is an AND of
cuts stored in CSR form (``trig_cut_start``); each cut is one row of ``cut_int`` / ``cut_float``:

======  =====================  =====================================================
op      cut_int (op, fld, n, t0)  cut_float (a, b, c, d)
======  =====================  =====================================================
JETS    (op, -, nthr, t0)      (-, abs_eta, -, -)   thresholds ``thr[t0:t0+nthr]``
HT      (op, -, lead, -)       (jet_pt, abs_eta, min, -)    the leading ``lead`` jets; 0: all
COUNT   (op, fld, n, -)        (jet_pt, abs_eta, wp, -)
MEAN    (op, fld, k, -)        (jet_pt, abs_eta, min, -)    mean of top-k >= min
SUM     (op, fld, k, -)        (jet_pt, abs_eta, min, -)    sum of top-k >= min
FATJET  (op, fld, n, -)        (pt, abs_eta, msd, xbb)      xbb = -inf: no Xbb cut
======  =====================  =====================================================

``fld`` indexes the jet score rows (:attr:`CompiledMenu.jet_fields`) or, for FATJET, the
large-R score rows (:attr:`CompiledMenu.fatjet_fields`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trigkit.emulator.schema import HLTPath, L1Seed, Menu

OP_JETS, OP_HT, OP_COUNT, OP_MEAN, OP_SUM, OP_FATJET = range(6)
OP_NAMES = ("jets", "ht", "count", "mean", "sum", "fatjet")
NO_CUT = -np.inf


@dataclass(frozen=True)
class CompiledMenu:
    menu: Menu
    jet_fields: tuple[str, ...]
    fatjet_fields: tuple[str, ...]
    n_l1: int
    n_hlt: int
    cut_int: np.ndarray  # (ncut, 4) int64
    cut_float: np.ndarray  # (ncut, 4) float64
    thr: np.ndarray  # float64 jet thresholds
    trig_cut_start: np.ndarray  # (n_l1 + n_hlt + 1,) int64
    l1_or_start: np.ndarray  # (n_l1 + 1,) int64, CSR into l1_or_idx
    l1_or_idx: np.ndarray
    hlt_seed_start: np.ndarray  # (n_hlt + 1,) int64, CSR into hlt_seed_idx
    hlt_seed_idx: np.ndarray
    order: np.ndarray  # evaluation order: plain L1 seeds, L1 seeds with any_of, HLT paths
    gate_start: np.ndarray  # (n_l1 + n_hlt + 1,) CSR into gate_idx: triggers one of which must fire
    gate_idx: np.ndarray

    @property
    def trigger_names(self) -> list[str]:
        return [*self.menu.l1_names, *self.menu.hlt_names]


class _Builder:
    def __init__(self, jet_fields: list[str], fatjet_fields: list[str]) -> None:
        self.jet_fields = jet_fields
        self.fatjet_fields = fatjet_fields
        self.ints: list[tuple[int, int, int, int]] = []
        self.floats: list[tuple[float, float, float, float]] = []
        self.thr: list[float] = []

    def add_trigger(self, trig: L1Seed | HLTPath) -> None:
        # Cheapest and most selective first: multiplicity, HT, then score cuts and large-R jets.
        if trig.jets is not None:
            t0 = len(self.thr)
            self.thr += list(trig.jets.pt)
            self.ints.append((OP_JETS, 0, len(trig.jets.pt), t0))
            self.floats.append((0.0, trig.jets.abs_eta, 0.0, 0.0))
        if trig.ht is not None:
            h = trig.ht
            self.ints.append((OP_HT, 0, h.leading or 0, 0))  # 0: all selected jets
            self.floats.append((h.jet_pt, h.jet_abs_eta, h.min, 0.0))
        for attr, op in (
            ("tagger", OP_COUNT),
            ("btag_count", OP_COUNT),
            ("btag_mean", OP_MEAN),
            ("btag_sum", OP_SUM),
        ):
            cut = getattr(trig, attr, None)
            if cut is None:
                continue
            fld = self.jet_fields.index(cut.field)
            n = cut.n if op == OP_COUNT else cut.top
            value = cut.wp if op == OP_COUNT else cut.min
            self.ints.append((op, fld, n, 0))
            self.floats.append((cut.jet_pt, cut.jet_abs_eta, value, 0.0))
        fj = getattr(trig, "fatjet", None)
        if fj is not None:
            fld = self.fatjet_fields.index(fj.xbb_field) if fj.xbb is not None else 0
            self.ints.append((OP_FATJET, fld, fj.n, 0))
            self.floats.append((fj.pt, fj.abs_eta, fj.msd, NO_CUT if fj.xbb is None else fj.xbb))


def compile_menu(menu: Menu) -> CompiledMenu:
    b = _Builder(menu.jet_fields(), menu.fatjet_fields())
    starts = [0]
    for trig in [*menu.l1.values(), *menu.hlt.values()]:
        b.add_trigger(trig)
        starts.append(len(b.ints))
    l1_index = {name: i for i, name in enumerate(menu.l1)}
    or_start, or_idx = _csr(
        [[l1_index[s] for s in (seed.any_of or [])] for seed in menu.l1.values()]
    )
    seed_start, seed_idx = _csr([[l1_index[s] for s in path.seeds] for path in menu.hlt.values()])
    # Row layout is (op, fld, n, t0); see the module docstring.
    plain = [i for i, seed in enumerate(menu.l1.values()) if not seed.any_of]
    with_or = [i for i, seed in enumerate(menu.l1.values()) if seed.any_of]
    order = np.array(
        [*plain, *with_or, *range(len(menu.l1), len(menu.l1) + len(menu.hlt))], dtype=np.int64
    )
    gate_start, gate_idx = _csr(
        [[l1_index[s] for s in (seed.any_of or [])] for seed in menu.l1.values()]
        + [[l1_index[s] for s in path.seeds] for path in menu.hlt.values()]
    )
    cut_int = np.array([(op, fld, n, t0) for op, fld, n, t0 in b.ints], dtype=np.int64).reshape(
        -1, 4
    )
    cut_float = np.array(b.floats, dtype=np.float64).reshape(-1, 4)
    return CompiledMenu(
        menu=menu,
        jet_fields=tuple(b.jet_fields),
        fatjet_fields=tuple(b.fatjet_fields),
        n_l1=len(menu.l1),
        n_hlt=len(menu.hlt),
        cut_int=cut_int,
        cut_float=cut_float,
        thr=np.array(b.thr or [0.0], dtype=np.float64),
        trig_cut_start=np.array(starts, dtype=np.int64),
        l1_or_start=or_start,
        l1_or_idx=or_idx,
        hlt_seed_start=seed_start,
        hlt_seed_idx=seed_idx,
        order=order,
        gate_start=gate_start,
        gate_idx=gate_idx,
    )


def _csr(rows: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    start = np.zeros(len(rows) + 1, dtype=np.int64)
    start[1:] = np.cumsum([len(r) for r in rows])
    idx = np.array([i for r in rows for i in r] or [0], dtype=np.int64)
    return start, idx
