"""`MenuResult`: per-path decisions, efficiencies with Clopper-Pearson intervals, rates, overlaps.

Conventions:
* Efficiencies: when a signal sample's weights are all equal (generated samples) they count events,
  k / n, with a central Clopper-Pearson interval at ``cl``. When the weights differ (NanoAOD
  ``genWeight``, reweighted HH) the efficiency is the weighted one, sum(w_pass) / sum(w), and the
  interval is Clopper-Pearson on the effective counts n_eff = (sum w)^2 / sum w^2 and
  k_eff = eff x n_eff (the standard approximation for weighted events; exact for uniform weights,
  where n_eff = n). See :func:`weighted_efficiency` for negative weights. Curves do the same per
  bin.
* Curves fold every event into the binning: underflow goes into the first bin and overflow into
  the last (their counts are kept in ``Curve.underflow`` / ``Curve.overflow``); only events whose
  variable is not finite (e.g. no mHH for a sample without truth) are left out, counted in
  ``Curve.nonfinite``, so ``sum(total) + nonfinite`` is the number of events.
* A background event contributes ``weight / lumi_pb`` pb of cross-section; its rate is that times
  the instantaneous luminosity: rate [Hz] = sum(w_pass) / lumi_pb [pb^-1] x L [cm^-2 s^-1]
  x 1e-36 [cm^2 / pb]; the uncertainty uses sqrt(sum w_pass^2).
* A trigger that no background event passes gets, besides its central 0 +- 0, a one-sided
  ``RATE_UL_CL`` (95 %) CL Poisson upper limit: -ln(0.05) = 2.996 events times the *mean* per-event
  rate weight of a background sample (mean of |w| / lumi_pb x L x 1e-36); with several samples
  the largest of those means is used, which is the projection of the Poisson limit on the total
  count (no event in any sample) onto the rate, hence conservative. ``RateSummary.upper_hz`` holds
  it (NaN when some event passed).
* Pure rate of a path: events accepted by this path and no other HLT path of the menu; that is
  also its *unique* rate, the rate the menu loses when the path is removed (OR minus OR-without).
  Shared rate: each event's rate split equally among the paths that accept it (sums to the OR).
* Overlap matrix ``[i][j]``: rate accepted by both i and j divided by the rate of i.
* ``prescale_mode``: "counter" (default) uses the 0/1 decisions of the prescale counters
  (:mod:`trigkit.emulator.stages`). "expected" replaces each event's 0/1 bits by its probability p
  of surviving the prescales (:mod:`trigkit.emulator.prescale_expected`) in every sum above: rate
  sum w p (error sqrt(sum (w p)^2)), OR with 1 - prod(1 - p_i),
  pure with p_i prod_{j != i}(1 - p_j),
  shared with E[X_i / N], overlap numerators sum w p_i p_j (diagonal: sum w p_i); efficiencies are
  sum w p / sum w with the effective-count interval above (a path whose p are all 0 or 1 keeps the
  counter mode's numbers exactly). ``passed`` then counts events with p > 0, and the zero-rate
  upper limit applies where no event has p > 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from scipy.special import betaincinv  # = scipy.stats.beta.ppf, without importing scipy.stats (~1 s)

from trigkit.emulator.prescale_expected import (
    PRESCALE_MODES,
    hlt_probabilities,
    path_probabilities,
    pure_probabilities,
    shared_probabilities,
)
from trigkit.emulator.stages import Decisions

PB_TO_CM2 = 1e-36
OR_NAME = "OR"
RATE_UL_CL = 0.95
#: one-sided Poisson upper limit on the mean for 0 observed events at RATE_UL_CL: -ln(1 - CL)
POISSON_UL_ZERO = float(-np.log(1.0 - RATE_UL_CL))


def clopper_pearson(
    k: np.ndarray | int, n: np.ndarray | int, cl: float = 0.683
) -> tuple[np.ndarray, np.ndarray]:
    """Central Clopper-Pearson interval for k successes in n trials (NaN where n = 0)."""
    k = np.asarray(k, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    alpha = 1.0 - cl
    with np.errstate(invalid="ignore", divide="ignore"):
        lo = np.where(k > 0, betaincinv(k, n - k + 1, alpha / 2), 0.0)
        hi = np.where(k < n, betaincinv(k + 1, n - k, 1 - alpha / 2), 1.0)
    lo = np.where(n > 0, lo, np.nan)
    hi = np.where(n > 0, hi, np.nan)
    return lo, hi


def uniform_weights(w: np.ndarray | None) -> bool:
    """True when every weight is the same (or there are none): efficiencies then count events."""
    if w is None:
        return True
    w = np.asarray(w)
    return w.size == 0 or bool(np.all(w == w.flat[0]))


def weighted_efficiency(
    sum_w: np.ndarray | float, sum_w_pass: np.ndarray | float, sum_w2: np.ndarray | float, cl: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(value, low, high, n_eff) of a weighted efficiency.

    value = sum(w_pass) / sum(w); the interval is the Clopper-Pearson interval for
    k_eff = value x n_eff successes in n_eff = (sum w)^2 / sum w^2 trials (non-integer counts
    enter the beta quantiles directly). This effective-count approximation is the standard one for
    weighted events; it reduces to plain Clopper-Pearson for equal weights.

    Negative weights: the value is the plain ratio and may then leave [0, 1]; n_eff still uses
    sum w^2 (so it is smaller than the event count, a wider interval); k_eff is clipped into
    [0, n_eff] for the interval. Where sum(w) <= 0 everything is NaN (no meaningful efficiency).
    """
    sw = np.asarray(sum_w, dtype=np.float64)
    swp = np.asarray(sum_w_pass, dtype=np.float64)
    sw2 = np.asarray(sum_w2, dtype=np.float64)
    good = (sw > 0) & (sw2 > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.where(good, swp / np.where(good, sw, 1.0), np.nan)
        n_eff = np.where(good, sw**2 / np.where(good, sw2, 1.0), 0.0)
    k_eff = np.clip(np.nan_to_num(value), 0.0, 1.0) * n_eff
    lo, hi = clopper_pearson(k_eff, n_eff, cl)
    return value, lo, hi, n_eff


@dataclass(frozen=True)
class Efficiency:
    passed: int  # events (unweighted) in every case
    total: int
    value: float
    low: float
    high: float
    weighted: bool = False
    sum_w: float = float("nan")
    sum_w_passed: float = float("nan")
    n_eff: float = float("nan")  # (sum w)^2 / sum w^2; = total for uniform weights

    @classmethod
    def of(cls, mask: np.ndarray, cl: float, weight: np.ndarray | None = None) -> Efficiency:
        k, n = int(np.count_nonzero(mask)), int(len(mask))
        w = np.ones(n) if weight is None else np.asarray(weight, dtype=np.float64)
        sw, swp = float(w.sum()), float(w[mask].sum())
        if uniform_weights(weight):
            lo, hi = clopper_pearson(k, n, cl)
            return cls(
                k, n, k / n if n else float("nan"), float(lo), float(hi), False, sw, swp, float(n)
            )
        value, lo, hi, n_eff = weighted_efficiency(sw, swp, float((w**2).sum()), cl)
        return cls(k, n, float(value), float(lo), float(hi), True, sw, swp, float(n_eff))

    @classmethod
    def expected(cls, prob: np.ndarray, cl: float, weight: np.ndarray | None = None) -> Efficiency:
        """``--prescale-mode expected``: sum(w p) / sum(w), effective-count interval; ``passed``
        counts events with p > 0. Exactly :meth:`of` when every p is 0 or 1."""
        prob = np.asarray(prob, dtype=np.float64)
        if _deterministic(prob):
            return cls.of(prob == 1.0, cl, weight)
        n = len(prob)
        w = np.ones(n) if weight is None else np.asarray(weight, dtype=np.float64)
        sw, swp = float(w.sum()), float((w * prob).sum())
        value, lo, hi, n_eff = weighted_efficiency(sw, swp, float((w**2).sum()), cl)
        return cls(
            int(np.count_nonzero(prob > 0)),
            n,
            float(value),
            float(lo),
            float(hi),
            True,
            sw,
            swp,
            float(n_eff),
        )


def _deterministic(prob: np.ndarray) -> bool:
    """Every probability exactly 0 or 1 (no prescale in play): the counter mode's bits."""
    return bool(np.all((prob == 0.0) | (prob == 1.0)))


def _bins(x: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray, int, int, int]:
    """(finite mask, bin index of each finite x, underflow, overflow, non-finite count): bins as
    ``np.histogram``'s, with the underflow folded into the first bin and the overflow into the
    last."""
    x = np.asarray(x, np.float64)
    ok = np.isfinite(x)
    xs = x[ok]
    idx = np.clip(np.searchsorted(edges, xs, side="right") - 1, 0, len(edges) - 2)
    return (
        ok,
        idx,
        int(np.count_nonzero(xs < edges[0])),
        int(np.count_nonzero(xs > edges[-1])),
        int(np.count_nonzero(~ok)),
    )


@dataclass(frozen=True)
class Curve:
    """Efficiency in bins of ``variable`` (edges in GeV). The first bin also holds the underflow
    (x < edges[0]) and the last the overflow (x > edges[-1]); bins are [lo, hi) except the last,
    [lo, hi] as in ``np.histogram``. ``passed`` / ``total`` are event counts; for weighted samples
    ``value`` / ``low`` / ``high`` come from the per-bin weight sums (see
    ``weighted_efficiency``)."""

    variable: str
    edges: np.ndarray
    passed: np.ndarray
    total: np.ndarray
    value: np.ndarray
    low: np.ndarray
    high: np.ndarray
    underflow: int = 0  # events folded into the first bin
    overflow: int = 0  # events folded into the last bin
    nonfinite: int = 0  # events left out: variable NaN / inf
    weighted: bool = False
    sum_w: np.ndarray | None = None
    sum_w_passed: np.ndarray | None = None
    n_eff: np.ndarray | None = None

    @classmethod
    def of(
        cls,
        variable: str,
        x: np.ndarray,
        mask: np.ndarray,
        edges: np.ndarray,
        cl: float,
        weight: np.ndarray | None = None,
    ) -> Curve:
        edges = np.asarray(edges, float)
        nb = len(edges) - 1
        ok, idx, under, over, nonfinite = _bins(x, edges)
        m = np.asarray(mask, bool)[ok]
        total = np.bincount(idx, minlength=nb)
        passed = np.bincount(idx[m], minlength=nb)
        w = np.ones(len(x)) if weight is None else np.asarray(weight, np.float64)
        sw = np.bincount(idx, weights=w[ok], minlength=nb)
        swp = np.bincount(idx[m], weights=w[ok][m], minlength=nb)
        if uniform_weights(weight):
            lo, hi = clopper_pearson(passed, total, cl)
            with np.errstate(invalid="ignore", divide="ignore"):
                value = np.where(total > 0, passed / np.maximum(total, 1), np.nan)
            return cls(
                variable,
                edges,
                passed,
                total,
                value,
                lo,
                hi,
                under,
                over,
                nonfinite,
                False,
                sw,
                swp,
                total.astype(np.float64),
            )
        sw2 = np.bincount(idx, weights=w[ok] ** 2, minlength=nb)
        return cls._weighted(
            variable, edges, passed, total, (under, over, nonfinite), sw, swp, sw2, cl
        )

    @classmethod
    def expected(
        cls,
        variable: str,
        x: np.ndarray,
        prob: np.ndarray,
        edges: np.ndarray,
        cl: float,
        weight: np.ndarray | None = None,
    ) -> Curve:
        """``--prescale-mode expected``: per bin sum(w p) / sum(w) (see
        :meth:`Efficiency.expected`)."""
        prob = np.asarray(prob, dtype=np.float64)
        if _deterministic(prob):
            return cls.of(variable, x, prob == 1.0, edges, cl, weight)
        edges = np.asarray(edges, float)
        nb = len(edges) - 1
        ok, idx, under, over, nonfinite = _bins(x, edges)
        w = (np.ones(len(ok)) if weight is None else np.asarray(weight, np.float64))[ok]
        p = prob[ok]
        total = np.bincount(idx, minlength=nb)
        passed = np.bincount(idx[p > 0], minlength=nb)
        sw = np.bincount(idx, weights=w, minlength=nb)
        swp = np.bincount(idx, weights=w * p, minlength=nb)
        sw2 = np.bincount(idx, weights=w**2, minlength=nb)
        return cls._weighted(
            variable, edges, passed, total, (under, over, nonfinite), sw, swp, sw2, cl
        )

    @classmethod
    def _weighted(
        cls,
        variable: str,
        edges: np.ndarray,
        passed: np.ndarray,
        total: np.ndarray,
        outside: tuple[int, int, int],
        sw: np.ndarray,
        swp: np.ndarray,
        sw2: np.ndarray,
        cl: float,
    ) -> Curve:
        """The weighted curve from per-bin counts and weight sums (``outside``: underflow,
        overflow, non-finite counts)."""
        value, lo, hi, n_eff = weighted_efficiency(sw, swp, sw2, cl)
        return cls(variable, edges, passed, total, value, lo, hi, *outside, True, sw, swp, n_eff)


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
    scores: dict[str, str] = field(
        default_factory=dict
    )  # "jets.btag" -> where its values came from
    #: the jets the L1 seeds' jet-kinematic cuts read: "l1jets" or "offline jets" (chunks that
    #: differ are both named, "l1jets / offline jets")
    l1_objects: str = "offline jets"
    #: what the L1 seeds' per-jet score cuts (the L1 tagger) read: the L1 jets with L1 tracks,
    #: or the offline stand-in (see ``columns.L1_TAGGER_LABELS``); "" when the menu has none
    l1_tagger: str = ""

    def __len__(self) -> int:
        return len(self.weight)


@dataclass(frozen=True)
class SignalSummary:
    name: str
    n_events: int
    efficiency: dict[str, Efficiency]  # HLT paths, L1 seeds, "L1 OR", "OR"
    curves: dict[str, dict[str, Curve]]  # variable -> path/OR -> curve
    weighted: bool = False  # weights differ: weighted efficiencies, effective-count intervals


@dataclass(frozen=True)
class RateSummary:
    name: str
    rate_hz: float
    error_hz: float
    pure_hz: float = float("nan")
    shared_hz: float = float("nan")
    #: RATE_UL_CL one-sided upper limit when no event passed (rate_hz is then 0), else NaN
    upper_hz: float = float("nan")


@dataclass(frozen=True)
class SkippedFile:
    """An events file left out of a run (``--skip-bad-files``) and why, in one line."""

    path: str
    reason: str


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
    #: "counter" (prescale counters, as the hardware) or "expected" (survival-probability weights)
    prescale_mode: str = "counter"
    #: files a ``--skip-bad-files`` run left out, in input order (their events are in no number)
    skipped_files: tuple[SkippedFile, ...] = ()

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


def summarize_signal(
    s: SampleEvents,
    cl: float,
    edges: dict[str, np.ndarray] | None = None,
    prescale_mode: str = "counter",
) -> SignalSummary:
    """Efficiencies and curves per path: from the 0/1 decisions (``counter``) or from each event's
    probability of surviving the prescales (``expected``)."""
    edges = {**DEFAULT_EDGES, **(edges or {})}
    w = None if uniform_weights(s.weight) else np.asarray(s.weight, np.float64)
    if prescale_mode == "expected":
        values, eff_of, curve_of = (
            path_probabilities(s.decisions),
            Efficiency.expected,
            Curve.expected,
        )
    else:
        values, eff_of, curve_of = _paths(s.decisions), Efficiency.of, Curve.of
    eff = {name: eff_of(v, cl, w) for name, v in values.items()}
    curve_paths = [*s.decisions.hlt_names, OR_NAME]
    curves = {
        var: {p: curve_of(var, x, values[p], edges[var], cl, w) for p in curve_paths}
        for var, x in (("mhh", s.mhh), ("lead_pt", s.lead_pt), ("ht", s.ht))
    }
    return SignalSummary(
        s.name, len(s), eff, curves, w is not None or any(e.weighted for e in eff.values())
    )


def _rate_weights(b: SampleEvents, inst_lumi: float) -> np.ndarray:
    """Each event's weight as a rate in Hz at ``inst_lumi``."""
    return b.weight / b.lumi_pb * inst_lumi * PB_TO_CM2


def _overlap(both: np.ndarray) -> np.ndarray:
    """Rows normalised by their diagonal (NaN where a path has no rate)."""
    diag = np.diag(both).copy()
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(diag[:, None] > 0, both / diag[:, None], np.nan)


def _ul_unit_hz(w_hz: np.ndarray) -> float:
    """Mean per-event rate weight (Hz) of one sample, the rate one average event stands for."""
    return float(np.mean(np.abs(w_hz))) if len(w_hz) else float("nan")


def _upper(n_passed: int, unit_hz: float) -> float:
    return POISSON_UL_ZERO * unit_hz if n_passed == 0 else float("nan")


def summarize_rates(
    backgrounds: list[SampleEvents], inst_lumi: float, prescale_mode: str = "counter"
) -> tuple[dict[str, RateSummary], np.ndarray]:
    if not backgrounds:
        return {}, np.zeros((0, 0))
    if prescale_mode == "expected":
        return _summarize_rates_expected(backgrounds, inst_lumi)
    hlt = np.concatenate([b.decisions.hlt for b in backgrounds])
    masks = {
        k: np.concatenate([_paths(b.decisions)[k] for b in backgrounds])
        for k in _paths(backgrounds[0].decisions)
    }
    per_sample_hz = [_rate_weights(b, inst_lumi) for b in backgrounds]
    w_hz = np.concatenate(per_sample_hz)
    # conservative across samples: the largest mean weight (see module docstring)
    unit = max((_ul_unit_hz(x) for x in per_sample_hz if len(x)), default=float("nan"))
    names = backgrounds[0].decisions.hlt_names
    n_fired = hlt.sum(axis=1)
    rates: dict[str, RateSummary] = {}
    for key, m in masks.items():
        r = float(w_hz[m].sum())
        err = float(np.sqrt((w_hz[m] ** 2).sum()))
        ul = _upper(int(np.count_nonzero(m)), unit)
        if key in names:
            i = names.index(key)
            pure = float(w_hz[m & (n_fired == 1)].sum())
            share = np.where(hlt[:, i], 1.0 / np.maximum(n_fired, 1), 0.0)
            rates[key] = RateSummary(key, r, err, pure, float((w_hz * share).sum()), ul)
        else:
            rates[key] = RateSummary(key, r, err, upper_hz=ul)
    return rates, _overlap((hlt.T.astype(np.float64) * w_hz) @ hlt.astype(np.float64))


def _rate(key: str, w_hz: np.ndarray, p: np.ndarray, unit: float) -> RateSummary:
    """sum(w p) +- sqrt(sum (w p)^2) for pass probabilities ``p`` (0/1 for the counter mode's bits);
    summed over the events with p > 0 only, so that 0/1 probabilities give the sums over the
    passing events bit for bit."""
    m = p > 0
    wp = w_hz[m] * p[m]
    return RateSummary(
        key,
        float(wp.sum()),
        float(np.sqrt((wp**2).sum())),
        upper_hz=_upper(int(np.count_nonzero(m)), unit),
    )


def _summarize_rates_expected(
    backgrounds: list[SampleEvents], inst_lumi: float
) -> tuple[dict[str, RateSummary], np.ndarray]:
    """As :func:`summarize_rates` with survival probabilities for the 0/1 bits (module
    docstring)."""
    per = [path_probabilities(b.decisions) for b in backgrounds]
    probs = {k: np.concatenate([q[k] for q in per]) for k in per[0]}
    hlt = np.concatenate([hlt_probabilities(b.decisions) for b in backgrounds])
    per_sample_hz = [_rate_weights(b, inst_lumi) for b in backgrounds]
    w_hz = np.concatenate(per_sample_hz)
    unit = max((_ul_unit_hz(x) for x in per_sample_hz if len(x)), default=float("nan"))
    names = backgrounds[0].decisions.hlt_names
    pure, shared = pure_probabilities(hlt), shared_probabilities(hlt)
    rates: dict[str, RateSummary] = {}
    for key, p in probs.items():
        r = _rate(key, w_hz, p, unit)
        if key in names:
            i = names.index(key)
            r = replace(
                r,
                pure_hz=_rate(key, w_hz, pure[:, i], unit).rate_hz,
                shared_hz=float((w_hz * shared[:, i]).sum()),
            )
        rates[key] = r
    both = (hlt.T * w_hz) @ hlt  # off-diagonal: sum w p_i p_j (independent prescalers)
    both[np.diag_indices_from(both)] += (hlt * (1.0 - hlt)).T @ w_hz  # diagonal: sum w p_i
    return rates, _overlap(both)


def rates_by_sample(
    backgrounds: list[SampleEvents], inst_lumi: float, prescale_mode: str = "counter"
) -> dict[str, dict[str, RateSummary]]:
    """Each background sample's own contribution to every trigger's rate (they add up to the
    total rate, as the weights do)."""
    out: dict[str, dict[str, RateSummary]] = {}
    for b in backgrounds:
        w_hz = _rate_weights(b, inst_lumi)
        unit = _ul_unit_hz(w_hz)
        probs = (
            path_probabilities(b.decisions)
            if prescale_mode == "expected"
            else {k: m.astype(np.float64) for k, m in _paths(b.decisions).items()}
        )
        out[b.name] = {k: _rate(k, w_hz, p, unit) for k, p in probs.items()}
    return out


def build_result(
    menu_name: str,
    signals: list[SampleEvents],
    backgrounds: list[SampleEvents],
    inst_lumi: float = 2.0e34,
    cl: float = 0.683,
    edges: dict[str, np.ndarray] | None = None,
    prescale_mode: str = "counter",
) -> MenuResult:
    if prescale_mode not in PRESCALE_MODES:
        raise ValueError(
            f"prescale_mode must be one of {', '.join(PRESCALE_MODES)}, got '{prescale_mode}'"
        )
    first = (signals or backgrounds)[0].decisions
    rates, overlap = summarize_rates(backgrounds, inst_lumi, prescale_mode)
    return MenuResult(
        menu_name=menu_name,
        l1_names=first.l1_names,
        hlt_names=first.hlt_names,
        inst_lumi=inst_lumi,
        cl=cl,
        signals=[summarize_signal(s, cl, edges, prescale_mode) for s in signals],
        rates=rates,
        overlap=overlap,
        samples=[*signals, *backgrounds],
        sample_rates=rates_by_sample(backgrounds, inst_lumi, prescale_mode),
        prescale_mode=prescale_mode,
    )
