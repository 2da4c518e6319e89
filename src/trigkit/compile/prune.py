"""Iterative magnitude pruning with fine-tuning to a target sparsity.

Each step raises the sparsity along the schedule's ramp, recomputes the masks from the current
weight magnitudes (weights pruned earlier stay pruned) and fine-tunes with the masks applied.
Masks live as buffers (``weight_mask``, via :mod:`torch.nn.utils.prune`), so the forward pass
always sees ``weight_orig * weight_mask`` and pruned weights stay exactly zero through any number
of optimizer steps. At the end they are made permanent: the zeros are written into ``weight`` so
ONNX / hls4ml export sees them.

Unstructured pruning ranks single weights by ``|w|``, over all prunable layers together (global)
or layer by layer. Structured pruning removes whole output neurons (rows of a Linear weight,
output channels of a Conv), ranked within each layer by the L1 or L2 norm of the row; their bias
entries go too.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Literal

import torch
from pydantic import Field, model_validator
from torch import nn
from torch.nn.utils import prune as tprune

from trigkit.core.errors import TrigkitError
from trigkit.core.validated import Validated

log = logging.getLogger(__name__)

PRUNABLE = (nn.Linear, nn.Conv1d, nn.Conv2d)

FineTune = Callable[[nn.Module, int], None]
Evaluate = Callable[[nn.Module], float]


class PruningSchedule(Validated):
    """How far, in how many steps, and what to prune."""

    target_sparsity: float = Field(
        ge=0.0, lt=1.0, description="fraction of weights (or rows) zeroed"
    )
    steps: int = Field(default=4, ge=1, le=100)
    finetune_epochs: int = Field(default=2, ge=0, description="fine-tuning epochs after each step")
    ramp: Literal["linear", "cubic"] = "cubic"
    structured: bool = False
    norm: Literal["l1", "l2"] = "l1"
    scope: Literal["global", "layer"] | None = Field(
        default=None, description="default: global for single weights, layer for rows"
    )
    exclude: tuple[str, ...] = ()
    keep_output_layer: bool = True

    @model_validator(mode="after")
    def _check(self) -> PruningSchedule:
        if self.norm == "l2" and not self.structured:
            raise ValueError("norm='l2' only applies to structured pruning (rows); use 'l1'")
        if self.structured and self.scope == "global":
            raise ValueError(
                "structured pruning ranks rows within each layer (a global ranking can empty a "
                "layer); use scope='layer'"
            )
        return self

    @property
    def effective_scope(self) -> Literal["global", "layer"]:
        if self.scope is not None:
            return self.scope
        return "layer" if self.structured else "global"

    def sparsity_at(self, step: int) -> float:
        """Sparsity after ``step`` (1..steps); cubic follows Zhu & Gupta (2017)."""
        if not 1 <= step <= self.steps:
            raise TrigkitError(f"pruning step {step} outside 1..{self.steps}")
        frac = step / self.steps
        if self.ramp == "linear":
            return self.target_sparsity * frac
        return self.target_sparsity * (1.0 - (1.0 - frac) ** 3)


@dataclass(frozen=True)
class LayerSparsity:
    layer: str
    n_weights: int
    n_zero: int
    n_rows: int
    n_rows_zero: int
    pruned: bool

    @property
    def sparsity(self) -> float:
        return self.n_zero / self.n_weights if self.n_weights else 0.0


@dataclass(frozen=True)
class PruneReport:
    """Per-layer sparsity (counted zeros in the final weights) and the metric change."""

    rows: tuple[LayerSparsity, ...]
    target_sparsity: float
    structured: bool
    metric_name: str = ""
    metric_before: float | None = None
    metric_after: float | None = None

    @property
    def n_weights(self) -> int:
        return sum(r.n_weights for r in self.rows if r.pruned)

    @property
    def n_zero(self) -> int:
        return sum(r.n_zero for r in self.rows if r.pruned)

    @property
    def sparsity(self) -> float:
        """Zero fraction over the pruned layers (what the schedule's target refers to)."""
        return self.n_zero / self.n_weights if self.n_weights else 0.0

    @property
    def overall_sparsity(self) -> float:
        """Zero fraction over every weight layer, excluded ones included."""
        total = sum(r.n_weights for r in self.rows)
        return sum(r.n_zero for r in self.rows) / total if total else 0.0

    @property
    def metric_change(self) -> float | None:
        if self.metric_before is None or self.metric_after is None:
            return None
        return self.metric_after - self.metric_before

    def to_dict(self) -> dict[str, object]:
        return {
            "target_sparsity": self.target_sparsity,
            "structured": self.structured,
            "sparsity": self.sparsity,
            "overall_sparsity": self.overall_sparsity,
            "metric": self.metric_name,
            "metric_before": self.metric_before,
            "metric_after": self.metric_after,
            "layers": [asdict(r) | {"sparsity": r.sparsity} for r in self.rows],
        }


def weight_layers(module: nn.Module) -> list[tuple[str, nn.Module]]:
    """Every Linear/Conv layer, in registration order."""
    return [(n, m) for n, m in module.named_modules() if isinstance(m, PRUNABLE)]


def prunable_layers(module: nn.Module, schedule: PruningSchedule) -> list[tuple[str, nn.Module]]:
    """The layers the schedule prunes: weight layers minus ``exclude`` and the output layer."""
    layers = weight_layers(module)
    names = [n for n, _ in layers]
    unknown = [e for e in schedule.exclude if e not in names]
    if unknown:
        raise TrigkitError(
            f"PruningSchedule.exclude: no weight layer named {unknown[0]!r}; layers are {names}"
        )
    skip = set(schedule.exclude)
    linear = [n for n, m in layers if isinstance(m, nn.Linear)]
    if schedule.keep_output_layer and linear:
        skip.add(linear[-1])
    chosen = [(n, m) for n, m in layers if n not in skip]
    if not chosen:
        raise TrigkitError(
            f"nothing to prune: the model's weight layers {names} are all excluded "
            "(output layer kept and PruningSchedule.exclude)"
        )
    return chosen


def _current(layer: nn.Module, name: str = "weight") -> torch.Tensor:
    """The effective (masked) tensor."""
    if tprune.is_pruned(layer) and hasattr(layer, f"{name}_mask"):
        return getattr(layer, f"{name}_orig") * getattr(layer, f"{name}_mask")
    return getattr(layer, name)


def _old_mask(layer: nn.Module) -> torch.Tensor:
    mask = getattr(layer, "weight_mask", None)
    return torch.ones_like(_current(layer), dtype=torch.bool) if mask is None else mask.bool()


def _scores(layer: nn.Module, schedule: PruningSchedule) -> torch.Tensor:
    """Magnitude per weight, or norm per row; already-pruned entries score -1 (pruned first)."""
    w = _current(layer).detach().abs().double()
    keep = _old_mask(layer)
    if not schedule.structured:
        return torch.where(keep, w, torch.full_like(w, -1.0)).flatten()
    rows = w.flatten(1)
    norm = rows.sum(1) if schedule.norm == "l1" else rows.pow(2).sum(1).sqrt()
    alive = keep.flatten(1).any(1)
    return torch.where(alive, norm, torch.full_like(norm, -1.0))


def _lowest(scores: torch.Tensor, k: int) -> torch.Tensor:
    """Boolean mask of exactly ``k`` lowest scores (ties broken by position)."""
    drop = torch.zeros(scores.numel(), dtype=torch.bool)
    if k > 0:
        order = torch.sort(scores, stable=True).indices
        drop[order[:k]] = True
    return drop


def _set_mask(layer: nn.Module, name: str, keep: torch.Tensor) -> None:
    ref = getattr(layer, f"{name}_orig", None)
    keep = keep.to((getattr(layer, name) if ref is None else ref).dtype)
    if hasattr(layer, f"{name}_mask"):
        getattr(layer, f"{name}_mask").copy_(keep)
        setattr(layer, name, getattr(layer, f"{name}_orig") * getattr(layer, f"{name}_mask"))
    else:
        tprune.custom_from_mask(layer, name, keep)


def _apply_drop(layer: nn.Module, drop: torch.Tensor, structured: bool) -> None:
    w = _current(layer)
    if structured:
        keep_rows = ~drop
        keep = keep_rows.view(-1, *([1] * (w.dim() - 1))).expand_as(w).clone()
        _set_mask(layer, "weight", keep)
        if getattr(layer, "bias", None) is not None or hasattr(layer, "bias_orig"):
            _set_mask(layer, "bias", keep_rows.clone())
    else:
        _set_mask(layer, "weight", (~drop).view_as(w))


def prune_to(
    layers: list[tuple[str, nn.Module]], sparsity: float, schedule: PruningSchedule
) -> None:
    """Set masks so that exactly round(sparsity * n) weights (or rows) are pruned."""
    with torch.no_grad():
        scores = [_scores(m, schedule) for _, m in layers]
        if schedule.effective_scope == "layer":
            for (_, m), s in zip(layers, scores, strict=True):
                _apply_drop(m, _lowest(s, round(sparsity * s.numel())), schedule.structured)
            return
        flat = torch.cat(scores)
        drop = _lowest(flat, round(sparsity * flat.numel()))
        for (_, m), part in zip(
            layers, torch.split(drop, [s.numel() for s in scores]), strict=True
        ):
            _apply_drop(m, part, schedule.structured)


def make_permanent(module: nn.Module) -> None:
    """Write the masks into the weights and drop the reparametrisation (zeros stay)."""
    for _, layer in module.named_modules():
        for name in ("weight", "bias"):
            if hasattr(layer, f"{name}_mask") and hasattr(layer, f"{name}_orig"):
                tprune.remove(layer, name)


def masks_of(module: nn.Module) -> dict[str, torch.Tensor]:
    """Non-zero patterns of every weight layer (``layer.weight``/``layer.bias`` keys)."""
    out: dict[str, torch.Tensor] = {}
    for lname, layer in weight_layers(module):
        for name in ("weight", "bias"):
            t = _current(layer, name) if getattr(layer, name, None) is not None else None
            if t is not None and bool((t == 0).any()):
                out[f"{lname}.{name}"] = (t != 0).detach().clone()
    return out


def apply_masks(module: nn.Module, masks: dict[str, torch.Tensor]) -> None:
    """Re-attach masks (from :func:`masks_of`) by layer name, e.g. to a QAT copy of the model."""
    mods = dict(module.named_modules())
    for key, keep in masks.items():
        lname, _, name = key.rpartition(".")
        layer = mods.get(lname)
        if layer is None or getattr(layer, name, None) is None:
            raise TrigkitError(
                f"mask for {key!r} has no matching parameter in {type(module).__name__}"
            )
        if getattr(layer, name).shape != keep.shape:
            raise TrigkitError(
                f"mask for {key!r} has shape {tuple(keep.shape)}, "
                f"parameter has {tuple(getattr(layer, name).shape)}"
            )
        _set_mask(layer, name, keep.clone())


def sparsity_report(
    module: nn.Module,
    schedule: PruningSchedule,
    *,
    metric_name: str = "",
    metric_before: float | None = None,
    metric_after: float | None = None,
) -> PruneReport:
    """Count zeros layer by layer in the effective weights."""
    pruned = {n for n, _ in prunable_layers(module, schedule)}
    rows = []
    for name, layer in weight_layers(module):
        w = _current(layer).detach()
        rows.append(
            LayerSparsity(
                layer=name,
                n_weights=w.numel(),
                n_zero=int((w == 0).sum()),
                n_rows=w.shape[0],
                n_rows_zero=int((w.flatten(1) == 0).all(1).sum()),
                pruned=name in pruned,
            )
        )
    return PruneReport(
        rows=tuple(rows),
        target_sparsity=schedule.target_sparsity,
        structured=schedule.structured,
        metric_name=metric_name,
        metric_before=metric_before,
        metric_after=metric_after,
    )


def prune(
    module: nn.Module,
    schedule: PruningSchedule,
    *,
    finetune: FineTune | None = None,
    evaluate: Evaluate | None = None,
    metric_name: str = "",
    permanent: bool = True,
    on_step: Callable[[int, float], None] | None = None,
) -> PruneReport:
    """Prune ``module`` in place along ``schedule``; return the per-layer report.

    ``finetune(module, epochs)`` trains with the masks applied after every step; ``evaluate``
    gives the metric before and after. With ``permanent`` the masks are written into the weights.
    """
    layers = prunable_layers(module, schedule)
    before = evaluate(module) if evaluate else None
    for step in range(1, schedule.steps + 1):
        target = schedule.sparsity_at(step)
        prune_to(layers, target, schedule)
        if finetune is not None and schedule.finetune_epochs > 0:
            finetune(module, schedule.finetune_epochs)
        log.info("pruning step %d/%d: sparsity %.3f", step, schedule.steps, target)
        if on_step is not None:
            on_step(step, target)
    if permanent:
        make_permanent(module)
    after = evaluate(module) if evaluate else None
    return sparsity_report(
        module, schedule, metric_name=metric_name, metric_before=before, metric_after=after
    )


@contextlib.contextmanager
def keep_zeros(module: nn.Module) -> Iterator[int]:
    """Hold every exactly-zero weight of ``module``'s Linear/Conv layers at zero while training.

    For modules that read ``layer.weight`` without calling the layer (e.g. the QAT MLP, where the
    :mod:`torch.nn.utils.prune` forward hook never runs): gradients of zero weights are zeroed
    by a hook, and on exit the zeros are written back. Yields the number of held weights.
    """
    held: list[tuple[torch.Tensor, torch.Tensor]] = []
    handles = []
    for _, layer in weight_layers(module):
        w = getattr(layer, "weight", None)
        if not isinstance(w, nn.Parameter) or not bool((w == 0).any()):
            continue
        keep = (w != 0).detach().clone()
        held.append((w, keep))
        handles.append(w.register_hook(lambda g, k=keep: g * k.to(g.dtype)))
    try:
        yield sum(int((~k).sum()) for _, k in held)
    finally:
        for h in handles:
            h.remove()
        with torch.no_grad():
            for w, keep in held:
                w.mul_(keep.to(w.dtype))
