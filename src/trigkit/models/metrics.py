"""Tagger metrics as quoted in the field: ROC, AUC, background rejection 1/eps_bkg at fixed
signal efficiency, accuracy, parameter count and multiply-accumulate count per jet.

All curve arithmetic is float64. Tied scores are grouped into one ROC point, so the AUC equals
the Mann-Whitney probability P(s_sig > s_bkg) + 0.5 P(s_sig == s_bkg).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import nn

from trigkit.core.errors import TrigkitError
from trigkit.models.layers import MaskedSelfAttention

WORKING_POINTS = (0.5, 0.7, 0.8)


@dataclass(frozen=True)
class Roc:
    """Signal and background efficiencies for every distinct threshold (score >= threshold),
    from (0, 0) at threshold +inf to (1, 1)."""

    sig_eff: np.ndarray
    bkg_eff: np.ndarray
    thresholds: np.ndarray


def roc(scores: np.ndarray, labels: np.ndarray, weights: np.ndarray | None = None) -> Roc:
    """ROC of ``scores`` for signal ``labels`` (bool or 0/1), optionally weighted."""
    s = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(labels).astype(bool).ravel()
    w = np.ones_like(s) if weights is None else np.asarray(weights, dtype=np.float64).ravel()
    if not (len(s) == len(y) == len(w)):
        raise TrigkitError(f"roc: {len(s)} scores, {len(y)} labels, {len(w)} weights")
    if not np.isfinite(s).all():
        raise TrigkitError(f"roc: {int((~np.isfinite(s)).sum())} scores are NaN/Inf")
    tot_s, tot_b = w[y].sum(), w[~y].sum()
    if tot_s <= 0 or tot_b <= 0:
        raise TrigkitError(
            "roc needs signal and background "
            f"(sum of weights {tot_s:g} signal, {tot_b:g} background)"
        )
    order = np.argsort(-s, kind="stable")
    s, y, w = s[order], y[order], w[order]
    cs = np.cumsum(np.where(y, w, 0.0))
    cb = np.cumsum(np.where(y, 0.0, w))
    last = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]  # last index of each distinct score
    return Roc(
        sig_eff=np.r_[0.0, cs[last] / tot_s],
        bkg_eff=np.r_[0.0, cb[last] / tot_b],
        thresholds=np.r_[np.inf, s[last]],
    )


def auc(curve: Roc) -> float:
    """Area under signal efficiency vs background efficiency (trapezoids)."""
    return float(np.trapezoid(curve.sig_eff, curve.bkg_eff))


def bkg_eff_at(curve: Roc, eff: float) -> float:
    """Background efficiency at signal efficiency ``eff``, linearly interpolated."""
    if not 0.0 < eff <= 1.0:
        raise TrigkitError(f"signal efficiency must be in (0, 1], got {eff}")
    xs, first = np.unique(curve.sig_eff, return_index=True)  # lowest bkg eff for each sig eff
    return float(np.interp(eff, xs, curve.bkg_eff[first]))


def rejection_at(curve: Roc, eff: float) -> float:
    """Background rejection 1/eps_bkg at signal efficiency ``eff`` (inf if no background passes)."""
    b = bkg_eff_at(curve, eff)
    return float("inf") if b <= 0.0 else 1.0 / b


def accuracy(probs: np.ndarray, labels: np.ndarray, weights: np.ndarray | None = None) -> float:
    pred = np.argmax(np.asarray(probs), axis=1)
    ok = (pred == np.asarray(labels)).astype(np.float64)
    w = np.ones_like(ok) if weights is None else np.asarray(weights, dtype=np.float64)
    return float((ok * w).sum() / w.sum())


def discriminant_b(p: np.ndarray, f_c: float = 0.05) -> np.ndarray:
    """D_b = log(p_b / (f_c p_c + (1 - f_c) p_light)); columns b, c, light (further columns are
    added to light). Probabilities are clipped at 1e-12."""
    p = np.asarray(p, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] < 3:
        raise TrigkitError(
            f"discriminant_b needs [n, >=3] probabilities (b, c, light), got {p.shape}"
        )
    eps = 1e-12
    light = p[:, 2:].sum(axis=1)
    return np.log(np.maximum(p[:, 0], eps) / np.maximum(f_c * p[:, 1] + (1.0 - f_c) * light, eps))


def n_params(module: nn.Module, *, nonzero: bool = False) -> int:
    """Number of parameters (or of nonzero ones, for pruned models)."""
    if nonzero:
        return int(sum(int(torch.count_nonzero(p)) for p in module.parameters()))
    return int(sum(p.numel() for p in module.parameters()))


def macs(
    module: nn.Module, input_shapes: dict[str, tuple[int, ...]], input_names: tuple[str, ...]
) -> int:
    """Multiply-accumulates per jet of every Linear layer and of the attention products
    (Q K^T and A V), counted from layer shapes on one jet with every object present."""
    total = [0]

    def linear_hook(mod: nn.Module, args: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        rows = args[0].numel() // mod.in_features
        total[0] += rows * mod.in_features * mod.out_features

    def attn_hook(mod: nn.Module, args: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        n = args[0].shape[1]
        total[0] += 2 * n * n * mod.dim

    handles = []
    for m in module.modules():
        if isinstance(m, nn.Linear):
            handles.append(m.register_forward_hook(linear_hook))
        elif isinstance(m, MaskedSelfAttention):
            handles.append(m.register_forward_hook(attn_hook))
    try:
        xs = [torch.ones((1, *input_shapes[n])) for n in input_names]
        with torch.no_grad():
            module(*xs)
    finally:
        for h in handles:
            h.remove()
    return total[0]


@dataclass(frozen=True)
class TaggerMetrics:
    """One row of the metrics table."""

    name: str
    auc: float
    rejection: dict[str, float]  # "0.5" -> 1/eps_bkg at eps_sig = 0.5
    n_signal: int
    n_background: int
    accuracy: float | None = None
    n_params: int | None = None
    macs: int | None = None
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def flops(self) -> int | None:
        return None if self.macs is None else 2 * self.macs

    def as_dict(self) -> dict[str, object]:
        d = asdict(self)
        d["flops"] = self.flops
        return d


def summarize(
    name: str,
    scores: np.ndarray,
    is_signal: np.ndarray,
    weights: np.ndarray | None = None,
    **info: object,
) -> tuple[TaggerMetrics, Roc]:
    curve = roc(scores, is_signal, weights)
    rej = {f"{e:g}": rejection_at(curve, e) for e in WORKING_POINTS}
    y = np.asarray(is_signal).astype(bool)
    return TaggerMetrics(
        name=name,
        auc=auc(curve),
        rejection=rej,
        n_signal=int(y.sum()),
        n_background=int((~y).sum()),
        **info,
    ), curve  # type: ignore[arg-type]
