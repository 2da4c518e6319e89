"""How far each event is from each threshold of a menu's trigger: per-cut margins.

A margin is the event's value over the cut's threshold, so ``margin >= 1`` passes the cut and
``margin = 1.1`` means 10 % above it (float64 division of the float32 values the kernels read;
``a >= t`` and ``a / t >= 1`` decide alike for ``t > 0``). Per cut key:

* ``jets`` (``pt: [p0, p1, ...]``, thresholds sorted decreasing): ``min_i pt_i / p_i``, ``pt_i``
  the i-th highest pt among the jets within ``abs_eta`` (0 where there are fewer jets);
* ``ht``: HT (:func:`~trigkit.emulator.cuts.ht.ht_value`) / ``min``;
* ``btag_mean`` / ``btag_sum``: the mean / sum of the ``top`` highest selected scores over
  ``min``; ``btag_count``: the ``n``-th highest selected score over ``wp``; fewer selected jets
  or a NaN score: -inf (no threshold shift passes it);
* an L1 seed: the minimum of its cuts' margins (and of the maximum over its ``any_of`` seeds);
* an HLT path: its cuts' margins and ``L1``, the maximum over its seeds (the seeds' OR; +inf
  for an unseeded path).

:func:`path_features` splits these into their parts (each seed's margin, each jet's ratio, each
of the top scores), the finer features of :func:`~trigkit.emulator.agreement_ceiling.
monotone_ceiling`.

Prescales are not margins: they are left out. Other cut types (``fatjet``, ``tagger``) and
thresholds <= 0 have no margin here and raise :class:`TrigkitError`.
"""

from __future__ import annotations

from typing import Any

import awkward as ak
import numpy as np

from trigkit.core.errors import TrigkitError
from trigkit.emulator.cuts.base import f64, selected
from trigkit.emulator.cuts.ht import ht_value
from trigkit.emulator.schema import Menu

MARGIN_CUTS = ("jets", "ht", "btag_mean", "btag_sum", "btag_count")


def _positive(value: float, where: str) -> float:
    if not value > 0:
        raise TrigkitError(f"{where}: threshold {value} <= 0 has no margin (value / threshold)")
    return float(value)


def _nth_highest(values: ak.Array, n: int) -> np.ndarray:
    """Per event, the n-th (0-based) highest of ``values``; -inf where there are fewer."""
    s = ak.sort(values, axis=1, ascending=False)
    return np.asarray(ak.to_numpy(ak.fill_none(ak.pad_none(s, n + 1)[:, n], -np.inf)), np.float64)


def _scores(jets: ak.Array, field: str, jet_pt: float, abs_eta: float) -> ak.Array:
    scores = f64(jets[field])
    return ak.where(np.isnan(scores), -np.inf, scores)[selected(jets, jet_pt, abs_eta)]


def cut_margin(key: str, cut: Any, jets: ak.Array, where: str = "cut") -> np.ndarray:  # noqa: ANN401
    """Per-event margin of one cut (``key`` its YAML key, ``cut`` its model) on ``jets``."""
    where = f"{where}: {key}"
    if key == "jets":
        central = abs(f64(jets.eta)) <= np.float64(cut.abs_eta)
        pt = f64(jets.pt)[central]
        ratios = [
            np.maximum(_nth_highest(pt, i), 0.0) / _positive(t, where) for i, t in enumerate(cut.pt)
        ]
        return np.min(ratios, axis=0)
    if key == "ht":
        return ht_value(jets, cut.jet_pt, cut.jet_abs_eta, cut.leading) / _positive(cut.min, where)
    if key in ("btag_mean", "btag_sum"):
        s = _scores(jets, cut.field, cut.jet_pt, cut.jet_abs_eta)
        best = ak.sort(s, axis=1, ascending=False)[:, : cut.top]
        total = np.asarray(ak.to_numpy(ak.sum(best, axis=1)), np.float64)
        total = np.where(ak.to_numpy(ak.num(best, axis=1)) < cut.top, -np.inf, total)
        value = total / cut.top if key == "btag_mean" else total
        return value / _positive(cut.min, where)
    if key == "btag_count":
        s = _scores(jets, cut.field, cut.jet_pt, cut.jet_abs_eta)
        return _nth_highest(s, cut.n - 1) / _positive(cut.wp, where)
    raise TrigkitError(
        f"{where}: no margin for this cut type; margins exist for {', '.join(MARGIN_CUTS)}"
    )


def seed_margin(menu: Menu, seed: str, l1_jets: ak.Array) -> np.ndarray:
    """Margin of L1 seed ``seed`` of ``menu`` on ``l1_jets``: the minimum over its cuts."""
    if seed not in menu.l1:
        raise TrigkitError(f"menu {menu.name}: no L1 seed {seed} (seeds: {', '.join(menu.l1)})")
    trig = menu.l1[seed]
    out = np.full(len(l1_jets), np.inf)
    for ctype, cut in trig.cuts():
        out = np.minimum(out, cut_margin(ctype.key, cut, l1_jets, f"{menu.name} {seed}"))
    if trig.any_of:
        anyof = np.max([seed_margin(menu, s, l1_jets) for s in trig.any_of], axis=0)
        out = np.minimum(out, anyof)
    return out


def path_margins(
    menu: Menu, path: str, jets: ak.Array, l1_jets: ak.Array | None = None
) -> dict[str, np.ndarray]:
    """Per-cut margins of HLT path ``path``: ``L1`` (the OR of its seeds on ``l1_jets``, or on
    ``jets`` when None) and one entry per cut key, in the path's cut order."""
    if path not in menu.hlt:
        raise TrigkitError(f"menu {menu.name}: no HLT path {path} (paths: {', '.join(menu.hlt)})")
    trig = menu.hlt[path]
    l1j = jets if l1_jets is None else l1_jets
    out = {"L1": np.full(len(jets), np.inf)}
    if trig.seeds:
        out["L1"] = np.max([seed_margin(menu, s, l1j) for s in trig.seeds], axis=0)
    for ctype, cut in trig.cuts():
        out[ctype.key] = cut_margin(ctype.key, cut, jets, f"{menu.name} {path}")
    return out


def _cut_parts(key: str, cut: Any, jets: ak.Array, where: str) -> dict[str, np.ndarray]:  # noqa: ANN401
    """The parts of one cut's margin: each jet's ratio, each of the top scores (over the
    threshold); a single part for ``ht``."""
    if key == "jets":
        pt = f64(jets.pt)[abs(f64(jets.eta)) <= np.float64(cut.abs_eta)]
        return {
            f"jet{i + 1}": np.maximum(_nth_highest(pt, i), 0.0) / _positive(t, f"{where}: jets")
            for i, t in enumerate(cut.pt)
        }
    if key in ("btag_mean", "btag_sum", "btag_count"):
        s = _scores(jets, cut.field, cut.jet_pt, cut.jet_abs_eta)
        n, thr = (cut.n, cut.wp) if key == "btag_count" else (cut.top, cut.min)
        thr = _positive(thr, f"{where}: {key}")
        return {f"{key}{i + 1}": _nth_highest(s, i) / thr for i in range(n)}
    return {key: cut_margin(key, cut, jets, where)}


def path_features(
    menu: Menu, path: str, jets: ak.Array, l1_jets: ak.Array | None = None
) -> dict[str, np.ndarray]:
    """The parts of :func:`path_margins`: ``L1 <seed>`` per seed, then per cut its parts
    (``jet1`` ... for ``jets``, ``btag_mean1`` ... for the top scores, ``ht``). Every margin of
    the path is a non-decreasing function of these."""
    margins = path_margins(menu, path, jets, l1_jets)  # validates the path and its cuts
    trig = menu.hlt[path]
    l1j = jets if l1_jets is None else l1_jets
    out = {f"L1 {s}": seed_margin(menu, s, l1j) for s in trig.seeds}
    for ctype, cut in trig.cuts():
        out |= _cut_parts(ctype.key, cut, jets, f"{menu.name} {path}")
    return out if trig.seeds else {"L1": margins["L1"], **out}
