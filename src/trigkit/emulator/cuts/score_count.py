"""``btag_count`` (HLT) / ``tagger`` (L1): at least ``n`` selected jets with a score >= ``wp``.

``tagger`` is the same cut on the firmware-emulated per-jet L1 score ``l1_score`` (other
defaults); both read one register per (field, jet selection, working point): the number of
selected jets whose float32 score passes the float32 threshold that decides like the float64
comparison (:mod:`trigkit.emulator.f32`; a missing score is -inf and never passes).
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from pydantic import Field

from trigkit.emulator.cuts.base import I2, I3, CutType, Eta, Pt, Source, Strict, f64, selected


class ScoreCountCut(Strict):
    """At least ``n`` jets (pt >= ``jet_pt``, |eta| <= ``jet_abs_eta``) with ``field`` >= ``wp``."""

    wp: float
    n: Annotated[int, Field(ge=1, le=16)] = 1
    field: str = "btag"
    jet_pt: Pt = 30.0
    jet_abs_eta: Eta = 2.5


class L1TaggerCut(ScoreCountCut):
    """The L1 tagger cut: a score count on the firmware-emulated per-jet score ``l1_score``."""

    field: str = "l1_score"
    jet_pt: Pt = 20.0


class _ScoreCount(CutType):
    kind = "count"

    def jet_fields(self, cut: ScoreCountCut) -> tuple[str, ...]:
        return (cut.field,)

    def pt_floor(self, cut: ScoreCountCut) -> float:
        return cut.jet_pt

    def register(self, cut: ScoreCountCut) -> tuple:
        return (cut.field, cut.jet_pt, cut.jet_abs_eta, cut.wp)

    def emit(self, r: int, key: tuple, cuts: list[Any], src: Source) -> None:
        field, jet_pt, abs_eta, wp = key
        c = src.jets.sel(jet_pt, abs_eta)
        s = src.jets.score(field)
        src.jets.init.append(f"{I2}nc{r} = 0")
        src.jets.body.append(f"{I3}nc{r} += {c} & ({s}[j] >= {src.cs.ge(wp)})")

    def expr(self, cut: ScoreCountCut, r: int, src: Source) -> str:
        return f"nc{r} >= {cut.n}"

    def reference(self, cut: ScoreCountCut, jets: Any, fat: Any) -> np.ndarray:  # noqa: ANN401
        import awkward as ak

        good = selected(jets, cut.jet_pt, cut.jet_abs_eta)
        good = good & (f64(jets[cut.field]) >= np.float64(cut.wp))
        return ak.to_numpy(ak.sum(good, axis=1)) >= cut.n


class Tagger(_ScoreCount):
    order = 30
    key = "tagger"
    levels = ("l1",)
    model = L1TaggerCut
    examples = ({"wp": 0.75, "n": 2, "jet_pt": 30},)


class BtagCount(_ScoreCount):
    order = 40
    key = "btag_count"
    levels = ("hlt",)
    model = ScoreCountCut
    examples = ({"wp": 0.8, "n": 3, "jet_pt": 25}, {"wp": 0.9})
