"""Fixed-point width scan: the tagger's metrics vs. the total width of its FPGA quantization.

For each width ``W`` the float MLP is wrapped into the bit-exact QAT model
(:func:`trigkit.compile.qat.quantize_module` with ``QATConfig(bits=W)``: weights, biases and
activations ``W`` bits wide, integer bits from the ranges of weights and calibration data), then
either fine-tuned with quantization in the loop (QAT) or used as is (post-training
quantization), and scored on the validation jets: AUC of the signal discriminant and accuracy.
Exact zeros of a pruned model stay zero through the fine-tuning.
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import torch
from torch import nn

from trigkit.compile.prune import keep_zeros
from trigkit.compile.qat import quantize_module
from trigkit.compile.qat_config import LayerQuant, QATConfig
from trigkit.compile.scoring import probabilities, score
from trigkit.core.errors import TrigkitError
from trigkit.models.feature_set import FeatureSet
from trigkit.models.saved import TrainedModel
from trigkit.models.training import TensorData, fit

log = logging.getLogger(__name__)

MIN_BITS, MAX_BITS = 2, 32
CALIB_ROWS = 20_000
FineTune = Callable[[nn.Module, int], None]


class Float32Logits(nn.Module):
    """The QAT MLP with float32 output (its logits are on a <= 32-bit grid, exact in float32)."""

    def __init__(self, qat: nn.Module) -> None:
        super().__init__()
        self.qat = qat

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.qat(x).float()


def parse_bits(text: str) -> tuple[int, ...]:
    """``"4..16"`` (inclusive range), ``"4,6,8"`` or ``"6"`` -> sorted widths."""
    t = text.replace(" ", "")
    m = re.fullmatch(r"(\d+)\.\.(\d+)", t)
    if m:
        lo, hi = int(m.group(1)), int(m.group(2))
        if lo > hi:
            raise TrigkitError(f"--bits {text}: range start {lo} is above its end {hi}")
        widths = list(range(lo, hi + 1))
    elif re.fullmatch(r"\d+(,\d+)*", t):
        widths = [int(v) for v in t.split(",")]
    else:
        raise TrigkitError(f"--bits {text!r}: expected a range like 4..16 or a list like 4,6,8")
    bad = [w for w in widths if not MIN_BITS <= w <= MAX_BITS]
    if bad:
        raise TrigkitError(f"--bits {text}: width {bad[0]} outside {MIN_BITS}..{MAX_BITS}")
    return tuple(sorted(set(widths)))


def quantize_at(
    module: nn.Module,
    bits: int,
    train: TensorData,
    *,
    epochs: int = 0,
    finetune: FineTune | None = None,
    calib_rows: int = CALIB_ROWS,
    range_quantile: float = 1.0,
) -> tuple[nn.Module, object]:
    """(QAT model with float32 logits, resolved QATConfig) of ``module`` at ``bits``.

    With ``epochs > 0`` and ``finetune``, ``finetune(qat_model, epochs)`` trains it with
    quantization in the loop; pruned (exactly zero) weights stay zero. ``range_quantile`` < 1
    sizes the input/activation integer bits for that quantile of the calibration values (the
    rest saturate), which buys fraction bits at small widths.
    """
    if not MIN_BITS <= bits <= MAX_BITS:
        raise TrigkitError(f"QAT width {bits} outside {MIN_BITS}..{MAX_BITS}")
    if not 0.5 < range_quantile <= 1.0:
        raise TrigkitError(f"range quantile {range_quantile} outside (0.5, 1]")
    if len(train.inputs) != 1:
        raise TrigkitError(
            "fixed-point QAT needs a per-jet MLP with one input; this model "
            f"takes {len(train.inputs)}"
        )
    config = QATConfig(bits=bits, range_quantile=range_quantile)
    qat = quantize_module(copy.deepcopy(module).float(), config, train.inputs[0][:calib_rows])
    wrapped = Float32Logits(qat)
    if epochs > 0 and finetune is not None:
        with keep_zeros(wrapped) as n_held:
            finetune(wrapped, epochs)
        log.info(
            "QAT %d bits: fine-tuned %d epochs (%d pruned weights held at 0)", bits, epochs, n_held
        )
    wrapped.eval()
    return wrapped, pinned_config(qat, config)


def pinned_config(qat: nn.Module, config: object) -> object:
    """``config`` with the input type and every dense layer's types pinned to what the QAT model
    resolved, so that ``quantize_module(weights, pinned, any_calibration)`` rebuilds it exactly."""
    plan = qat.plan  # type: ignore[attr-defined]
    pins: dict[str, LayerQuant] = {}
    acts = {layer.name: layer for layer in plan.layers if layer.kind == "relu"}
    for layer in plan.layers:
        if layer.kind != "dense":
            continue
        act = acts.get(layer.name.replace("fc", "relu"))
        pins[layer.name] = LayerQuant(
            weight=layer.weight_t.hls(),
            bias=layer.bias_t.hls(),
            accum=layer.accum_t.hls(),
            result=layer.result_t.hls(),
            activation=act.result_t.hls() if act else None,
            reuse_factor=layer.reuse_factor,
        )
    return config.model_copy(update={"layers": pins, "input_type": plan.input_t.hls()})  # type: ignore[attr-defined]


def qat_widths(config: object) -> dict[str, dict[str, str | None]]:
    """Per-layer types of a pinned QATConfig as plain strings (for tables and model files)."""
    return {
        name: {k: v for k, v in pin.model_dump().items() if k != "reuse_factor"}
        for name, pin in config.layers.items()  # type: ignore[attr-defined]
    }


def copy_weights_back(qat_model: nn.Module, module: nn.Module) -> None:
    """Write the QAT model's (float shadow) weights into the float module's Linear layers."""
    src = [m for m in qat_model.modules() if isinstance(m, nn.Linear)]
    dst = [m for m in module.modules() if isinstance(m, nn.Linear)]
    if len(src) != len(dst):
        raise TrigkitError(f"QAT model has {len(src)} dense layers, float model {len(dst)}")
    with torch.no_grad():
        for s, d in zip(src, dst, strict=True):
            d.weight.copy_(s.weight)
            d.bias.copy_(s.bias)


@dataclass(frozen=True)
class WidthPoint:
    bits: int
    auc: float
    accuracy: float


@dataclass(frozen=True)
class WidthScan:
    model: str
    finetuned: bool
    epochs: int
    float_auc: float
    float_accuracy: float
    points: tuple[WidthPoint, ...]

    def change(self, point: WidthPoint, metric: str = "accuracy") -> float:
        """Relative change of ``metric`` (accuracy or auc) vs. the float model."""
        ref = self.float_accuracy if metric == "accuracy" else self.float_auc
        return (getattr(point, metric) - ref) / ref

    def smallest_within(self, tolerance: float, metric: str = "accuracy") -> int | None:
        """Smallest width whose ``metric`` is within ``tolerance`` (relative) of float."""
        ok = [p.bits for p in self.points if self.change(p, metric) >= -tolerance]
        return min(ok) if ok else None

    def to_dict(self) -> dict[str, object]:
        return {
            **{k: v for k, v in asdict(self).items() if k != "points"},
            "points": [asdict(p) for p in self.points],
        }


def scan(
    model: TrainedModel,
    train: FeatureSet,
    val: FeatureSet,
    bits: Sequence[int],
    *,
    finetune: bool = True,
    epochs: int = 2,
    lr: float = 1e-3,
    batch_size: int = 512,
    seed: int = 0,
    progress: bool = False,
    range_quantile: float = 1.0,
    on_point: Callable[[WidthPoint], None] | None = None,
) -> WidthScan:
    """Metrics vs. width for ``model`` (an MLP tagger such as ``l1-mlp``)."""
    if not bits:
        raise TrigkitError("width scan: no widths given")
    if finetune and epochs < 1:
        raise TrigkitError("width scan with fine-tuning needs epochs >= 1 (or finetune=False)")
    tr = TensorData.from_features(train, model.preprocessing)
    va = TensorData.from_features(val, model.preprocessing)
    if len(tr) == 0 or len(va) == 0:
        raise TrigkitError("width scan: empty training or validation set")

    def tune(m: nn.Module, n: int) -> None:
        fit(
            m,
            tr,
            va,
            epochs=n,
            lr=lr,
            batch_size=batch_size,
            patience=max(n, 1),
            seed=seed,
            progress=progress,
        )

    f_auc, f_acc = score(model, probabilities(model.module, va), va.labels, model.kind)
    points = []
    for b in bits:
        torch.manual_seed(seed)
        qm, _ = quantize_at(
            model.module,
            int(b),
            tr,
            epochs=epochs if finetune else 0,
            finetune=tune,
            range_quantile=range_quantile,
        )
        auc, acc = score(model, probabilities(qm, va), va.labels, model.kind)
        points.append(WidthPoint(int(b), auc, acc))
        log.info("width %d: AUC %.4f, accuracy %.4f", b, auc, acc)
        if on_point is not None:
            on_point(points[-1])
    return WidthScan(model.name, finetune, epochs if finetune else 0, f_auc, f_acc, tuple(points))
