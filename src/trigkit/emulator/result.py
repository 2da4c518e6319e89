"""`MenuResult`: per-path decisions, efficiencies with Clopper-Pearson intervals, rates, overlaps.

Conventions:
* Efficiencies count events (unweighted k / n) with a central Clopper-Pearson interval at ``cl``.
* A background event contributes ``weight / lumi_pb`` pb of cross-section; its rate is that times
  the instantaneous luminosity: rate [Hz] = sum(w_pass) / lumi_pb [pb^-1] x L [cm^-2 s^-1]
  x 1e-36 [cm^2 / pb]; the uncertainty uses sqrt(sum w_pass^2).
* Pure rate of a path: events accepted by this path and no other HLT path of the menu; that is
  also its *unique* rate, the rate the menu loses when the path is removed (OR minus OR-without).
  Shared rate: each event's rate split equally among the paths that accept it (sums to the OR).
* Overlap matrix ``[i][j]``: rate accepted by both i and j divided by the rate of i.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.stats import beta

from trigkit.emulator.stages import Decisions

PB_TO_CM2 = 1e-36
OR_NAME = "OR"


def clopper_pearson(k: np.ndarray | int, n: np.ndarray | int, cl: float = 0.683) -> tuple[np.ndarray, np.ndarray]:
    """Central Clopper-Pearson interval for k successes in n trials (NaN where n = 0)."""
    k = np.asarray(k, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    alpha = 1.0 - cl
    with np.errstate(invalid="ignore", divide="ignore"):
        lo = np.where(k > 0, beta.ppf(alpha / 2, k, n - k + 1), 0.0)
        hi = np.where(k < n, beta.ppf(1 - alpha / 2, k + 1, n - k), 1.0)
    lo = np.where(n > 0, lo, np.nan)
    hi = np.where(n > 0, hi, np.nan)
    return lo, hi


@dataclass(frozen=True)
class Efficiency:
    passed: int
    total: int
    value: float
    low: float
    high: float

    @classmethod
    def of(cls, mask: np.ndarray, cl: float) -> Efficiency:
        k, n = int(np.count_nonzero(mask)), int(len(mask))
        lo, hi = clopper_pearson(k, n, cl)
        return cls(k, n, k / n if n else float("nan"), float(lo), float(hi))


@dataclass(frozen=True)
class Curve:
    """Efficiency in bins of ``variable`` (edges in GeV)."""

    variable: str
    edges: np.ndarray
    passed: np.ndarray
    total: np.ndarray
    value: np.ndarray
    low: np.ndarray
    high: np.ndarray

    @classmethod
    def of(cls, variable: str, x: np.ndarray, mask: np.ndarray, edges: np.ndarray, cl: float) -> Curve:
        ok = np.isfinite(x)
        total, _ = np.histogram(x[ok], bins=edges)
        passed, _ = np.histogram(x[ok & mask], bins=edges)
        lo, hi = clopper_pearson(passed, total, cl)
        with np.errstate(invalid="ignore", divide="ignore"):
            value = np.where(total > 0, passed / np.maximum(total, 1), np.nan)
        return cls(variable, np.asarray(edges, float), passed, total, value, lo, hi)


@dataclass(frozen=True)
class SampleEvents:
    """What the result needs from one sample, all events in order."""

    name: str
    process: str
    decisions: Decisions
    weight: np.ndarray
    lumi_pb: np.ndarray  # per event (files may differ)
    mhh: np.ndarray
    lead_pt: np.ndarray
    ht: np.ndarray
    n_jets: np.ndarray  # offline jets (pt > 30, |eta| < 2.5): HLT tagger calls per event
    scores: dict[str, str] = field(default_factory=dict)  # "jets.btag" -> where its values came from

    def __len__(self) -> int:
        return len(self.weight)


@dataclass(frozen=True)
class SignalSummary:
    name: str
    n_events: int
    efficiency: dict[str, Efficiency]  # HLT paths, L1 seeds, "L1 OR", "OR"
    curves: dict[str, dict[str, Curve]]  # variable -> path/OR -> curve


@dataclass(frozen=True)
class RateSummary:
    name: str
    rate_hz: float
    error_hz: float
    pure_hz: float = float("nan")
    shared_hz: float = float("nan")


@dataclass(frozen=True)
class MenuResult:
    menu_name: str
    l1_names: tuple[str, ...]
    hlt_names: tuple[str, ...]
    inst_lumi: float
    cl: float
    signals: list[SignalSummary]
    rates: dict[str, RateSummary]  # HLT paths, L1 seeds, "L1 OR", "OR"
    overlap: np.ndarray  # (n_hlt, n_hlt) background-rate overlap fractions
    samples: list[SampleEvents] = field(repr=False, default_factory=list)
    budget: object | None = None
    #: background sample -> trigger -> its rate from that sample alone (pure/shared not split)
    sample_rates: dict[str, dict[str, RateSummary]] = field(default_factory=dict)

    def decisions(self, sample: str) -> Decisions:
        for s in self.samples:
            if s.name == sample:
                return s.decisions
        raise KeyError(sample)


DEFAULT_EDGES = {
    "mhh": np.arange(250.0, 1050.0, 50.0),
    "lead_pt": np.arange(0.0, 410.0, 20.0),
    "ht": np.arange(0.0, 1050.0, 50.0),
}


def _paths(d: Decisions) -> dict[str, np.ndarray]:
    out = {name: d.hlt[:, i] for i, name in enumerate(d.hlt_names)}
    out.update({name: d.l1[:, i] for i, name in enumerate(d.l1_names)})
    out["L1 OR"] = d.l1_accept
    out[OR_NAME] = d.hlt_accept
    return out


def summarize_signal(s: SampleEvents, cl: float, edges: dict[str, np.ndarray] | None = None) -> SignalSummary:
    edges = {**DEFAULT_EDGES, **(edges or {})}
    masks = _paths(s.decisions)
    eff = {name: Efficiency.of(m, cl) for name, m in masks.items()}
    curve_paths = [*s.decisions.hlt_names, OR_NAME]
    curves = {
        var: {p: Curve.of(var, x, masks[p], edges[var], cl) for p in curve_paths}
        for var, x in (("mhh", s.mhh), ("lead_pt", s.lead_pt), ("ht", s.ht))
    }
    return SignalSummary(s.name, len(s), eff, curves)


def summarize_rates(backgrounds: list[SampleEvents], inst_lumi: float) -> tuple[dict[str, RateSummary], np.ndarray]:
    if not backgrounds:
        return {}, np.zeros((0, 0))
    hlt = np.concatenate([b.decisions.hlt for b in backgrounds])
    masks = {k: np.concatenate([_paths(b.decisions)[k] for b in backgrounds]) for k in _paths(backgrounds[0].decisions)}
    w_hz = np.concatenate([b.weight / b.lumi_pb for b in backgrounds]) * inst_lumi * PB_TO_CM2
    names = backgrounds[0].decisions.hlt_names
    n_fired = hlt.sum(axis=1)
    rates: dict[str, RateSummary] = {}
    for key, m in masks.items():
        r = float(w_hz[m].sum())
        err = float(np.sqrt((w_hz[m] ** 2).sum()))
        if key in names:
            i = names.index(key)
            pure = float(w_hz[m & (n_fired == 1)].sum())
            share = np.where(hlt[:, i], 1.0 / np.maximum(n_fired, 1), 0.0)
            rates[key] = RateSummary(key, r, err, pure, float((w_hz * share).sum()))
        else:
            rates[key] = RateSummary(key, r, err)
    both = (hlt.T.astype(np.float64) * w_hz) @ hlt.astype(np.float64)
    diag = np.diag(both).copy()
    with np.errstate(invalid="ignore", divide="ignore"):
        overlap = np.where(diag[:, None] > 0, both / diag[:, None], np.nan)
    return rates, overlap


def rates_by_sample(backgrounds: list[SampleEvents], inst_lumi: float) -> dict[str, dict[str, RateSummary]]:
    """Each background sample's own contribution to every trigger's rate (they add up to the
    total rate, as the weights do)."""
    out: dict[str, dict[str, RateSummary]] = {}
    for b in backgrounds:
        w_hz = b.weight / b.lumi_pb * inst_lumi * PB_TO_CM2
        out[b.name] = {k: RateSummary(k, float(w_hz[m].sum()), float(np.sqrt((w_hz[m] ** 2).sum())))
                       for k, m in _paths(b.decisions).items()}
    return out


def build_result(menu_name: str, signals: list[SampleEvents], backgrounds: list[SampleEvents],
                 inst_lumi: float = 2.0e34, cl: float = 0.683,
                 edges: dict[str, np.ndarray] | None = None) -> MenuResult:
    first = (signals or backgrounds)[0].decisions
    rates, overlap = summarize_rates(backgrounds, inst_lumi)
    return MenuResult(
        menu_name=menu_name,
        l1_names=first.l1_names,
        hlt_names=first.hlt_names,
        inst_lumi=inst_lumi,
        cl=cl,
        signals=[summarize_signal(s, cl, edges) for s in signals],
        rates=rates,
        overlap=overlap,
        samples=[*signals, *backgrounds],
        sample_rates=rates_by_sample(backgrounds, inst_lumi),
    )
