"""Background rejection at a signal efficiency, with a 68 % interval, and pT reweighting.

``rejection_at_eff`` cuts where a fraction ``eff`` of the (weighted) signal passes and returns
1 / eps_bkg with a central Clopper-Pearson interval on the background count; for weighted
background the count is the effective one, n_eff = (sum w)^2 / sum w^2 (k_eff = eps x n_eff).
A rejection is quoted only where at least ``min_pass`` (effective) background objects pass;
otherwise the result is a lower bound (``n_bkg / max(k, 1)``) and says so.

``pt_reweight`` gives per-object background weights that make the background pT spectrum
follow the signal's (histogram ratio in quantile bins of the signal pT), the usual way to
compare a boosted tagger against QCD without rewarding it for learning pT.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from trigkit.core.errors import TrigkitError

MIN_BKG_PASS = 100
CL = 0.683


@dataclass(frozen=True)
class Rejection:
    """1 / eps_bkg at signal efficiency ``eff``; ``low``/``high``: its 68 % interval."""

    eff: float
    value: float
    low: float
    high: float
    n_background: float  # effective background count
    n_pass: float  # effective background count passing the cut
    is_lower_bound: bool

    def as_dict(self) -> dict[str, float | bool]:
        return asdict(self)

    def text(self) -> str:
        if self.is_lower_bound:
            return f"> {self.value:.0f} ({self.n_pass:.0f} background jets pass)"
        return f"{self.value:.1f} [{self.low:.1f}, {self.high:.1f}]"


def _beta_interval(k: float, n: float, cl: float) -> tuple[float, float]:
    from scipy.special import betaincinv

    alpha = 1.0 - cl
    lo = float(betaincinv(k, n - k + 1, alpha / 2)) if k > 0 else 0.0
    hi = float(betaincinv(k + 1, n - k, 1 - alpha / 2)) if k < n else 1.0
    return lo, hi


def _weights(w: np.ndarray | None, n: int, what: str) -> np.ndarray:
    if w is None:
        return np.ones(n)
    w = np.asarray(w, dtype=np.float64)
    if w.shape != (n,) or not np.all(np.isfinite(w)) or (w < 0).any():
        raise TrigkitError(f"{what}: need {n} finite, non-negative weights, got shape {w.shape}")
    return w


def signal_cut(scores: np.ndarray, weights: np.ndarray, eff: float) -> float:
    """The score above which a fraction ``eff`` of the signal weight lies."""
    order = np.argsort(-scores, kind="stable")
    cum = np.cumsum(weights[order]) / weights.sum()
    return float(scores[order][min(np.searchsorted(cum, eff), len(cum) - 1)])


def rejection_at_eff(
    sig: np.ndarray,
    bkg: np.ndarray,
    eff: float,
    sig_weights: np.ndarray | None = None,
    bkg_weights: np.ndarray | None = None,
    min_pass: int = MIN_BKG_PASS,
) -> Rejection:
    """Rejection of background scores ``bkg`` where ``eff`` of signal scores ``sig`` pass."""
    sig, bkg = np.asarray(sig, np.float64), np.asarray(bkg, np.float64)
    if not 0 < eff < 1 or len(sig) == 0 or len(bkg) == 0:
        raise TrigkitError(
            f"rejection: need 0 < eff < 1 and signal and background scores "
            f"(got eff {eff}, {len(sig)} signal, {len(bkg)} background)"
        )
    ws = _weights(sig_weights, len(sig), "signal weights")
    wb = _weights(bkg_weights, len(bkg), "background weights")
    cut = signal_cut(sig, ws, eff)
    passed = bkg >= cut
    n_eff = wb.sum() ** 2 / (wb**2).sum()
    frac = wb[passed].sum() / wb.sum()
    k_eff = frac * n_eff
    if k_eff < min_pass:
        return Rejection(eff, n_eff / max(k_eff, 1.0), np.nan, np.nan, n_eff, k_eff, True)
    lo, hi = _beta_interval(k_eff, n_eff, CL)
    return Rejection(eff, 1.0 / frac, 1.0 / hi, 1.0 / lo, n_eff, k_eff, False)


def pt_reweight(pt_bkg: np.ndarray, pt_sig: np.ndarray, n_bins: int = 20) -> np.ndarray:
    """Weights for background objects so their pT spectrum follows the signal's.

    Bins: quantiles of the signal pT; background outside the signal range gets weight 0; bins
    with no background get none (their signal is lost, as it is for any finite sample). The
    weights average to 1 over the background that is kept.
    """
    pt_bkg, pt_sig = np.asarray(pt_bkg, np.float64), np.asarray(pt_sig, np.float64)
    if len(pt_sig) < n_bins or len(pt_bkg) == 0:
        raise TrigkitError(
            f"pt_reweight: need >= {n_bins} signal and some background objects "
            f"(got {len(pt_sig)}, {len(pt_bkg)})"
        )
    edges = np.unique(np.quantile(pt_sig, np.linspace(0, 1, n_bins + 1)))
    h_sig = np.histogram(pt_sig, edges)[0] / len(pt_sig)
    h_bkg = np.histogram(pt_bkg, edges)[0] / len(pt_bkg)
    ratio = np.divide(h_sig, h_bkg, out=np.zeros_like(h_sig), where=h_bkg > 0)
    idx = np.searchsorted(edges, pt_bkg, side="right") - 1
    idx[pt_bkg == edges[-1]] = len(edges) - 2
    inside = (idx >= 0) & (idx < len(edges) - 1)
    w = np.where(inside, ratio[np.clip(idx, 0, len(ratio) - 1)], 0.0)
    kept = w > 0
    if not kept.any():
        raise TrigkitError("pt_reweight: no background object inside the signal pT range")
    return w / w[kept].mean()
