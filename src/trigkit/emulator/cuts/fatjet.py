"""``fatjet`` (HLT): at least ``n`` large-R jets with pt, soft-drop mass and (optionally) an Xbb
score above thresholds, within |eta|.

Register (one per distinct cut): large-R jets are read once per chunk of events, in their own
loop, into the running count of jets passing the cut (``fn[i]``: among the chunk's first i), so
an event's count is a difference of two entries (no per-event loop whose variable length the
branch predictor would miss). Without an Xbb cut the score is not read.
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from pydantic import Field

from trigkit.emulator.cuts.base import I1, I2, CutType, Eta, Pt, Source, Strict, f64

I3 = " " * 12  # inside the chunk's large-R loop


class FatJetCut(Strict):
    """At least ``n`` large-R jets with pt >= ``pt``, msd >= ``msd``, |eta| <= ``abs_eta`` and
    (when ``xbb`` is given) ``xbb_field`` >= ``xbb``."""

    pt: Pt
    msd: Pt = 0.0
    xbb: float | None = None
    xbb_field: str = "xbb"
    abs_eta: Eta = 2.5
    n: Annotated[int, Field(ge=1, le=8)] = 1


class FatJet(CutType):
    order = 70
    key = "fatjet"
    levels = ("hlt",)
    model = FatJetCut
    kind = "fatjet"
    collection = "fatjets"
    examples = ({"pt": 250, "msd": 40, "xbb": 0.5}, {"pt": 300, "msd": 60})

    def fatjet_fields(self, cut: FatJetCut) -> tuple[str, ...]:
        return () if cut.xbb is None else (cut.xbb_field,)

    def register(self, cut: FatJetCut) -> tuple:
        xbb = None if cut.xbb is None else cut.xbb_field
        return (xbb, cut.pt, cut.abs_eta, cut.msd, cut.xbb)

    def emit(self, r: int, key: tuple, cuts: list[Any], src: Source) -> None:
        field, pt, abs_eta, msd, xbb = key
        cs, fat = src.cs, src.fat
        cond = f"(fp >= {cs.ge(pt)}) & (fa <= {cs.le(abs_eta)}) & (fm >= {cs.ge(msd)})"
        if field is not None:
            cond += f" & ({fat.score(field)}[f] >= {cs.ge(xbb)})"
        fat.init += [
            f"{I1}fn{r} = np.empty(fe - fb + U1, dtype=np.int64)",
            f"{I1}fn{r}[0] = 0",
            f"{I1}m{r} = 0",
        ]
        fat.body += [f"{I3}m{r} += {cond}", f"{I3}fn{r}[f - fb + U1] = m{r}"]
        fat.event.append(f"{I2}fj{r} = fn{r}[f1] - fn{r}[f0]")

    def expr(self, cut: FatJetCut, r: int, src: Source) -> str:
        return f"fj{r} >= {cut.n}"

    def reference(self, cut: FatJetCut, jets: Any, fat: Any) -> np.ndarray:  # noqa: ANN401
        import awkward as ak

        good = (f64(fat.pt) >= np.float64(cut.pt)) & (abs(f64(fat.eta)) <= np.float64(cut.abs_eta))
        good = good & (f64(fat.msd) >= np.float64(cut.msd))
        if cut.xbb is not None:
            good = good & (f64(fat[cut.xbb_field]) >= np.float64(cut.xbb))
        return ak.to_numpy(ak.sum(good, axis=1)) >= cut.n
