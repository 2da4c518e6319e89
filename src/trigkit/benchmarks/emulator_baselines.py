"""Contenders for `trigkit bench emulator` written as a careful user would.

* :func:`run_awkward_careful`: awkward arrays, every column converted to float64 once (not in
  every cut), each selection mask built once, the top-k scores found by k ``argmax`` passes
  instead of sorting every event's scores;
* :func:`run_numpy`: plain numpy on the same flat buffers (:class:`~trigkit.emulator.columns.
  Columns`) the fused kernel reads: per-event counts from one cumulative sum over the offsets,
  sums by ``bincount`` (sequential, in jet order, as the kernel adds), the top-k by k
  ``maximum.reduceat`` passes (no sort, no padding).

Both give the raw decisions of :func:`trigkit.emulator.engine.onepass.run_onepass` (asserted
equal in the benchmark) with the semantics of :mod:`trigkit.emulator.engine.reference`. The
memory floor is :mod:`trigkit.benchmarks.memory_floor`.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from trigkit.emulator.schema import HLTPath, L1Seed, Menu, ScoreTopCut

NEG = -np.inf


class _Ops(Protocol):
    n: int

    def jet(self, name: str) -> Any: ...
    def fat(self, name: str) -> Any: ...
    def jcount(self, mask: Any) -> np.ndarray: ...
    def fcount(self, mask: Any) -> np.ndarray: ...
    def jsum(self, values: Any, mask: Any) -> np.ndarray: ...
    def jtop(self, values: Any, mask: Any, k: int) -> list[np.ndarray]: ...


class _Menu:
    """The menu's cuts over any :class:`_Ops`; selection masks are built once per (pt, eta)."""

    def __init__(self, ops: _Ops) -> None:
        self.ops = ops
        self._sel: dict[tuple[float, float], Any] = {}

    def sel(self, pt: float, abs_eta: float) -> Any:
        key = (pt, abs_eta)
        if key not in self._sel:
            o = self.ops
            self._sel[key] = (o.jet("pt") >= pt) & (o.jet("abs_eta") <= abs_eta)
        return self._sel[key]

    def jets(self, cut) -> np.ndarray:  # noqa: ANN001
        o = self.ops
        central = o.jet("abs_eta") <= cut.abs_eta
        ok = np.ones(o.n, dtype=bool)
        for i, thr in enumerate(cut.pt):  # decreasing: the i-th needs i + 1 jets above it
            ok &= o.jcount(central & (o.jet("pt") >= thr)) >= i + 1
        return ok

    def ht(self, cut) -> np.ndarray:  # noqa: ANN001
        o = self.ops
        mask = self.sel(cut.jet_pt, cut.jet_abs_eta)
        if cut.leading is None:
            return o.jsum(o.jet("pt"), mask) >= cut.min
        total = np.zeros(o.n)
        for top in o.jtop(o.jet("pt"), mask, cut.leading):
            total = total + np.where(top == NEG, 0.0, top)
        return total >= cut.min

    def count(self, cut) -> np.ndarray:  # noqa: ANN001
        o = self.ops
        return o.jcount(self.sel(cut.jet_pt, cut.jet_abs_eta) & (o.jet(cut.field) >= cut.wp)) >= (
            cut.n
        )

    def top(self, cut: ScoreTopCut, mean: bool) -> np.ndarray:
        o = self.ops
        mask = self.sel(cut.jet_pt, cut.jet_abs_eta)
        tops = o.jtop(o.jet(cut.field), mask, cut.top)
        total = tops[0]
        for t in tops[1:]:
            total = total + t
        value = total / cut.top if mean else total
        return (o.jcount(mask) >= cut.top) & (value >= cut.min)

    def fatjet(self, cut) -> np.ndarray:  # noqa: ANN001
        o = self.ops
        good = (
            (o.fat("pt") >= cut.pt) & (o.fat("abs_eta") <= cut.abs_eta) & (o.fat("msd") >= cut.msd)
        )
        if cut.xbb is not None:
            good = good & (o.fat(cut.xbb_field) >= cut.xbb)
        return o.fcount(good) >= cut.n

    def trigger(self, trig: L1Seed | HLTPath) -> np.ndarray:
        ok = np.ones(self.ops.n, dtype=bool)
        if trig.jets is not None:
            ok &= self.jets(trig.jets)
        if trig.ht is not None:
            ok &= self.ht(trig.ht)
        if isinstance(trig, L1Seed):
            return ok & self.count(trig.tagger) if trig.tagger is not None else ok
        if trig.btag_count is not None:
            ok &= self.count(trig.btag_count)
        for cut, mean in ((trig.btag_mean, True), (trig.btag_sum, False)):
            if cut is not None:
                ok &= self.top(cut, mean)
        if trig.fatjet is not None:
            ok &= self.fatjet(trig.fatjet)
        return ok


def _decisions(menu: Menu, ops: _Ops) -> np.ndarray:
    """Raw decisions (n_events, n_l1 + n_hlt), the layout of the fused pass."""
    m = _Menu(ops)
    l1 = {name: m.trigger(seed) for name, seed in menu.l1.items()}
    for name, seed in menu.l1.items():
        if seed.any_of:
            l1[name] = l1[name] & np.any([l1[r] for r in seed.any_of], axis=0)
    cols = list(l1.values())
    for path in menu.hlt.values():
        seeded = (
            np.any([l1[s] for s in path.seeds], axis=0)
            if path.seeds
            else np.ones(ops.n, dtype=bool)
        )
        cols.append(seeded & m.trigger(path))
    return np.stack(cols, axis=1) if cols else np.zeros((ops.n, 0), dtype=bool)


class _AwkwardOps:
    """Jagged awkward columns, each converted to float64 once, on first use."""

    def __init__(self, jets, fatjets) -> None:  # noqa: ANN001
        self.n = len(jets)
        self._src = {"jet": jets, "fat": fatjets}
        self._cache: dict[tuple[str, str], Any] = {}

    def _col(self, kind: str, name: str) -> Any:
        import awkward as ak

        key = (kind, name)
        if key not in self._cache:
            if name == "abs_eta":
                self._cache[key] = abs(self._col(kind, "eta"))
            else:
                x = ak.values_astype(self._src[kind][name], np.float64)
                if name not in ("pt", "eta", "msd"):
                    x = ak.where(np.isnan(x), NEG, x)  # a missing score never passes
                self._cache[key] = x
        return self._cache[key]

    def jet(self, name: str) -> Any:
        return self._col("jet", name)

    def fat(self, name: str) -> Any:
        return self._col("fat", name)

    def jcount(self, mask: Any) -> np.ndarray:
        import awkward as ak

        return ak.to_numpy(ak.sum(mask, axis=1))

    fcount = jcount

    def jsum(self, values: Any, mask: Any) -> np.ndarray:
        import awkward as ak

        return ak.to_numpy(ak.sum(ak.where(mask, values, 0.0), axis=1))

    def jtop(self, values: Any, mask: Any, k: int) -> list[np.ndarray]:
        import awkward as ak

        s = ak.where(mask, values, NEG)
        out = []
        for i in range(k):
            out.append(ak.to_numpy(ak.fill_none(ak.max(s, axis=1), NEG)))
            if i + 1 < k:
                first = ak.fill_none(ak.argmax(s, axis=1, keepdims=True), -1)
                s = ak.where(ak.local_index(s, axis=1) == first, NEG, s)
        return out


def run_awkward_careful(menu: Menu, jets, fatjets=None) -> np.ndarray:  # noqa: ANN001
    """The menu on awkward arrays, as a careful awkward user writes it."""
    return _decisions(menu, _AwkwardOps(jets, fatjets))


class _NumpyOps:
    """Flat numpy buffers + offsets: counts from one cumulative sum, sums by ``bincount`` (in jet
    order, as the kernel adds), maxima by ``reduceat`` over the events that have jets."""

    def __init__(self, cols, jet_fields: tuple[str, ...], fat_fields: tuple[str, ...]) -> None:  # noqa: ANN001
        self.n = cols.n_events
        self._cols = {
            ("jet", "pt"): cols.jet_pt.astype(np.float64),
            ("fat", "pt"): cols.fat_pt.astype(np.float64),
        }
        self._raw = {
            ("jet", "eta"): cols.jet_eta,
            ("fat", "eta"): cols.fat_eta,
            ("fat", "msd"): cols.fat_msd,
            **{("jet", f): cols.jet_scores[i] for i, f in enumerate(jet_fields)},
            **{("fat", f): cols.fat_scores[i] for i, f in enumerate(fat_fields)},
        }
        self._off = {"jet": cols.jet_offsets, "fat": cols.fat_offsets}
        counts = np.diff(cols.jet_offsets)
        self._evt = np.repeat(np.arange(self.n), counts)  # event of each jet
        self._nonempty = counts > 0  # maxima by reduceat over the events that have jets
        self._starts = cols.jet_offsets[:-1][self._nonempty]

    def _col(self, kind: str, name: str) -> np.ndarray:
        key = (kind, name)
        if key not in self._cols:
            if name == "abs_eta":
                self._cols[key] = np.abs(self._col(kind, "eta"))
            else:
                self._cols[key] = self._raw[key].astype(np.float64)
        return self._cols[key]

    def jet(self, name: str) -> np.ndarray:
        return self._col("jet", name)

    def fat(self, name: str) -> np.ndarray:
        return self._col("fat", name)

    def _count(self, kind: str, mask: np.ndarray) -> np.ndarray:
        off = self._off[kind]
        dtype = np.int32 if len(mask) < 2**31 else np.int64  # int32 sums run ~4x faster
        cs = np.zeros(len(mask) + 1, dtype=dtype)
        np.cumsum(mask.view(np.uint8), out=cs[1:], dtype=dtype)
        return cs[off[1:]] - cs[off[:-1]]

    def jcount(self, mask: np.ndarray) -> np.ndarray:
        return self._count("jet", mask)

    def fcount(self, mask: np.ndarray) -> np.ndarray:
        return self._count("fat", mask)

    def jsum(self, values: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return np.bincount(self._evt, weights=np.where(mask, values, 0.0), minlength=self.n)

    def jtop(self, values: np.ndarray, mask: np.ndarray, k: int) -> list[np.ndarray]:
        s = np.where(mask, values, NEG)
        out = []
        for i in range(k):
            best = np.full(self.n, NEG)
            if len(self._starts):
                best[self._nonempty] = np.maximum.reduceat(s, self._starts)
            out.append(best)
            if i + 1 < k:  # knock out the first occurrence of each event's maximum
                at = np.flatnonzero(s == best[self._evt])
                ev = self._evt[at]
                first = at[np.concatenate(([True], ev[1:] != ev[:-1]))] if len(at) else at
                s[first] = NEG
        return out


def run_numpy(
    menu: Menu, cols, jet_fields: tuple[str, ...], fat_fields: tuple[str, ...]
) -> np.ndarray:  # noqa: ANN001
    """The menu in plain numpy on the fused kernel's flat buffers."""
    return _decisions(menu, _NumpyOps(cols, jet_fields, fat_fields))
