"""``ht``: scalar sum of the pt of jets above their own pt / |eta| threshold, above ``min``.

Register (one per jet selection and ``leading``): ``ht += float64(p) * ONE[sel]`` adds ``p`` or
``+-0.0`` (pts are finite, see :func:`~trigkit.emulator.columns.columns_from_batch`), the float64
sum in jet order; a leading-N HT masks with ``sel & (k <= N)``, ``k`` counting the selected jets
up to and including this one (incremented before), so exactly the first N selected jets
(pt-ordered: the N leading) are added. ``ONE[sel]`` is a load indexed by the selection: LLVM
lowers a float select on a boolean to a jump on x86, which mispredicts on real events.
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from pydantic import Field

from trigkit.emulator.cuts.base import I2, I3, CutType, Eta, Pt, Source, Strict, f64, lit, selected

MAX_LEADING = 100  # ht.leading: a positive int up to this (more is every selected jet in practice)


class HTCut(Strict):
    """HT = sum of pt of jets with pt >= ``jet_pt`` and |eta| <= ``jet_abs_eta``; HT >= ``min``.

    ``leading: N`` sums only the first N of those jets in pt order (the N leading selected jets,
    e.g. ATLAS ``L1_HT190-J15s5pETA21``: the 5 leading jets with pt > 15 and |eta| < 2.1); an
    event with fewer selected jets sums them all. Omitted: every selected jet."""

    min: Pt
    jet_pt: Pt = 30.0
    jet_abs_eta: Eta = 2.5
    leading: Annotated[int, Field(strict=True, ge=1, le=MAX_LEADING)] | None = None


def ht_value(jets: Any, jet_pt: float, abs_eta: float, leading: int | None = None) -> np.ndarray:  # noqa: ANN401
    """HT of the selected jets; with ``leading``, of the ``leading`` highest-pt selected jets only
    (sorted here, not assumed ordered; summed from the highest down, the order of the kernel)."""
    import awkward as ak

    sel = selected(jets, jet_pt, abs_eta)
    if leading is None:
        return ak.to_numpy(ak.sum(ak.where(sel, f64(jets.pt), 0.0), axis=1))
    pts = f64(jets.pt)[sel]
    return ak.to_numpy(ak.sum(ak.sort(pts, axis=1, ascending=False)[:, :leading], axis=1))


class HT(CutType):
    order = 20
    key = "ht"
    levels = ("l1", "hlt")
    model = HTCut
    kind = "ht"
    examples = ({"min": 200}, {"min": 150, "jet_pt": 15, "jet_abs_eta": 2.1, "leading": 3})

    def pt_floor(self, cut: HTCut) -> float:
        return cut.jet_pt

    def register(self, cut: HTCut) -> tuple:
        return (cut.jet_pt, cut.jet_abs_eta, cut.leading or 0)

    def emit(self, r: int, key: tuple, cuts: list[Any], src: Source) -> None:
        jet_pt, abs_eta, lead = key
        c = src.jets.sel(jet_pt, abs_eta)
        if lead > 0:  # the first `lead` selected jets: a counter incremented before this line
            c = f"{c} & ({src.jets.counter(c, f'kh{r}')} <= {lead})"
        src.jets.init.append(f"{I2}ht{r} = 0.0")
        src.jets.body.append(f"{I3}ht{r} += pd * ONE[np.uint64({c})]")

    def expr(self, cut: HTCut, r: int, src: Source) -> str:
        return f"ht{r} >= {lit(cut.min)}"

    def reference(self, cut: HTCut, jets: Any, fat: Any) -> np.ndarray:  # noqa: ANN401
        # `>=` (not `not <`): a NaN sum fails, as in the kernel
        return ht_value(jets, cut.jet_pt, cut.jet_abs_eta, cut.leading) >= np.float64(cut.min)
