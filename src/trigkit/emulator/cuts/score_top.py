"""``btag_mean`` / ``btag_sum`` (HLT): mean or sum of the ``top`` highest scores of the selected
jets, compared with ``min`` (CMS ``PNet2BTagMean`` / ``2BTagSum``); fewer than ``top`` selected
jets fails the cut.

Both read one register per (field, jet selection): the number of selected jets and their k
highest scores (k = the largest ``top`` of the cuts reading it, <= 4), kept in float32 (the
scores' own type: max / min pick one of their operands, so no value changes, and no float64
conversion per jet). Per jet, ``v = min(max(NEG, s), CAP[sel])`` is the score, or -inf for a NaN
score or an unselected jet (which the reference never inserts; inserting -inf changes nothing),
and a max / min chain keeps the k highest in order (selects on a float compare, no jump); they
are converted to float64 and summed from the highest down, the reference's order.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Annotated, Any

import numpy as np
from pydantic import Field

from trigkit.emulator.cuts.base import I2, I3, CutType, Eta, Pt, Source, Strict, f64, lit, selected


class ScoreTopCut(Strict):
    """Mean (``btag_mean``) or sum (``btag_sum``) of the ``top`` highest ``field`` scores among
    jets with pt >= ``jet_pt`` and |eta| <= ``jet_abs_eta``, compared with ``min``.
    Fewer than ``top`` such jets fails the cut."""

    min: float
    top: Annotated[int, Field(ge=1, le=4)] = 2
    field: str = "btag"
    jet_pt: Pt = 30.0
    jet_abs_eta: Eta = 2.5


def top_sum(
    jets: Any,  # noqa: ANN401 - an awkward array
    field: str,
    top: int,
    jet_pt: float,
    abs_eta: float,
) -> tuple[np.ndarray, np.ndarray]:
    """(sum of the ``top`` highest scores, number of selected jets), NaN scores as -inf."""
    import awkward as ak

    scores = f64(jets[field])
    scores = ak.where(np.isnan(scores), -np.inf, scores)[selected(jets, jet_pt, abs_eta)]
    best = ak.sort(scores, axis=1, ascending=False)[:, :top]
    return ak.to_numpy(ak.sum(best, axis=1)), ak.to_numpy(ak.num(scores, axis=1))


def _insert(q: int, k: int) -> list[str]:
    """Insert ``v`` (never NaN) into the sorted q{q}_0 >= ... >= q{q}_{k-1}: each register keeps
    the larger of itself and ``v`` and passes the smaller down. They end with the k highest."""
    lines = []
    for i in range(k - 1):
        lines += [f"{I3}w = max(v, q{q}_{i})", f"{I3}v = min(v, q{q}_{i})", f"{I3}q{q}_{i} = w"]
    return [*lines, f"{I3}q{q}_{k - 1} = max(v, q{q}_{k - 1})"]


class _ScoreTop(CutType):
    levels = ("hlt",)
    model = ScoreTopCut
    kind = "top"

    def jet_fields(self, cut: ScoreTopCut) -> tuple[str, ...]:
        return (cut.field,)

    def pt_floor(self, cut: ScoreTopCut) -> float:
        return cut.jet_pt

    def register(self, cut: ScoreTopCut) -> tuple:
        return (cut.field, cut.jet_pt, cut.jet_abs_eta)

    def emit(self, r: int, key: tuple, cuts: list[Any], src: Source) -> None:
        field, jet_pt, abs_eta = key
        k = max(c.top for c in cuts)
        loop = src.jets
        c = loop.sel(jet_pt, abs_eta)
        loop.count(c, f"nq{r}")
        loop.init += [f"{I2}q{r}_{i} = NEG" for i in range(k)]
        s = loop.score(field)
        loop.body += [
            f"{I3}v = min(max(NEG, {s}[j]), CAP[np.uint64({c})])",
            *_insert(r, k),
        ]

    @abstractmethod
    def value(self, total: str, top: int) -> str:
        """The compared quantity (source text) from the sum of the ``top`` highest scores."""

    def expr(self, cut: ScoreTopCut, r: int, src: Source) -> str:
        total = " + ".join(f"np.float64(q{r}_{i})" for i in range(cut.top))
        return f"(nq{r} >= {cut.top}) & ({self.value(f'({total})', cut.top)} >= {lit(cut.min)})"

    def reference(self, cut: ScoreTopCut, jets: Any, fat: Any) -> np.ndarray:  # noqa: ANN401
        total, n = top_sum(jets, cut.field, cut.top, cut.jet_pt, cut.jet_abs_eta)
        return (n >= cut.top) & (self.ref_value(total, cut.top) >= np.float64(cut.min))

    @abstractmethod
    def ref_value(self, total: np.ndarray, top: int) -> np.ndarray:
        """The compared quantity (per event) from the sum of the ``top`` highest scores."""


class BtagMean(_ScoreTop):
    order = 50
    key = "btag_mean"
    examples = ({"min": 0.6}, {"min": 0.5, "top": 4, "jet_pt": 20, "jet_abs_eta": 3.0})

    def value(self, total: str, top: int) -> str:
        return f"{total} / {top}"

    def ref_value(self, total: np.ndarray, top: int) -> np.ndarray:
        return total / top


class BtagSum(_ScoreTop):
    order = 60
    key = "btag_sum"
    examples = ({"min": 1.9, "top": 3}, {"min": 0.95, "top": 1, "jet_pt": 40})

    def value(self, total: str, top: int) -> str:
        return total

    def ref_value(self, total: np.ndarray, top: int) -> np.ndarray:
        return total
