"""``jets``: N jets within |eta|, the i-th highest above ``pt[i]`` (``pt: [70, 55, 40, 35]``).

Register (one per distinct ``abs_eta``): the pts of the first N selected jets, appended to a small
buffer (``lb[min(k, n)] = p; k += sel``: a store and an add, no branch). Jets are pt-ordered, so
``lb[i]`` is the i-th selected jet, the one compared with ``pt[i]``; the buffer holds jets above
the loop's pt floor only, so a threshold at the floor always passes. The reference counts instead
(relying on no ordering): the i-th threshold needs at least i+1 selected jets above it, which for
thresholds sorted in decreasing order is the same condition (Hall's theorem on nested sets).

Single-jet cuts (``pt: [180]``) read a register of their own: per distinct threshold, the count
of selected jets at or above it (``k += sel & (p >= C)``, no buffer store and reload); at least
one such jet is the condition, as in the reference.
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from pydantic import Field, field_validator

from trigkit.emulator.cuts.base import I1, I2, I3, CutType, Eta, Pt, Source, Strict, f64


class JetsCut(Strict):
    """``len(pt)`` jets within ``abs_eta``, the i-th highest above ``pt[i]`` (GeV)."""

    pt: Annotated[list[Pt], Field(min_length=1, max_length=16)]
    abs_eta: Eta = 2.5

    @field_validator("pt")
    @classmethod
    def _descending(cls, v: list[float]) -> list[float]:
        # Sorting keeps the meaning (Hall's theorem on nested jet sets) and lets the kernel count.
        return sorted(v, reverse=True)


class Jets(CutType):
    order = 10
    key = "jets"
    levels = ("l1", "hlt")
    model = JetsCut
    kind = "jets"
    examples = (
        {"pt": [70, 55, 40, 35]},
        {"pt": [50, 30], "abs_eta": 2.1},
        {"pt": [100], "abs_eta": 3.0},
    )

    def pt_floor(self, cut: JetsCut) -> float:
        return min(cut.pt)

    def register(self, cut: JetsCut) -> tuple:
        return (cut.abs_eta, len(cut.pt) == 1)

    def _single(self, r: int, t: float, src: Source) -> str:
        """The local counting register ``r``'s selected jets with pt >= ``t``."""
        return f"k{r}_{src.cs.ge(t)}" if src.jets.above_floor(t) else f"k{r}"

    def emit(self, r: int, key: tuple, cuts: list[Any], src: Source) -> None:
        loop = src.jets
        c = loop.sel(None, key[0])
        if key[1]:  # single-jet cuts: one count per threshold
            for t in dict.fromkeys(cut.pt[0] for cut in cuts):
                above = f"{c} & (p >= {src.cs.ge(t)})" if loop.above_floor(t) else c
                loop.count(above, self._single(r, t, src))
            return
        n = max(len(c.pt) for c in cuts)
        loop.body.append(f"{I3}lb{r}[np.uint64(min(k{r}, {n}))] = p")  # before k{r} counts it
        loop.count(c, f"k{r}")
        loop.after += [f"{I2}l{r}_{i} = lb{r}[{i}]" for i in range(n)]
        src.chunk.append(f"{I1}lb{r} = np.zeros({n + 1}, dtype=np.float32)")

    def expr(self, cut: JetsCut, r: int, src: Source) -> str:
        if len(cut.pt) == 1:
            return f"({self._single(r, cut.pt[0], src)} >= 1)"
        n = len(cut.pt)
        parts = [f"(k{r} >= {n})"]
        parts += [
            f"(l{r}_{i} >= {src.cs.ge(t)})" for i, t in enumerate(cut.pt) if src.jets.above_floor(t)
        ]
        return " & ".join(parts)

    def reference(self, cut: JetsCut, jets: Any, fat: Any) -> np.ndarray:  # noqa: ANN401
        import awkward as ak

        central = abs(f64(jets.eta)) <= np.float64(cut.abs_eta)
        pt = f64(jets.pt)
        ok = np.ones(len(jets), dtype=bool)
        for i, thr in enumerate(cut.pt):  # sorted decreasing
            ok &= ak.to_numpy(ak.sum(central & (pt >= np.float64(thr)), axis=1)) >= i + 1
        return ok
