"""Compression of a trained tagger: pruning, then fixed-point QAT (FPGA) and/or INT8 (GPU).

One call, :func:`compress`, used by ``trigkit compress`` and the demo::

    trained float model --prune (fine-tune with masks)--> pruned float model
                        --QAT (ap_fixed fake-quantizers, masks kept)--> FPGA-ready weights
                        --INT8 (calibrated Q/DQ ONNX of the pruned float model)--> GPU graph

Every stage is measured on the same validation jets with the same metrics as ``trigkit
evaluate``: AUC of the signal discriminant (signal class vs. the kind's background classes) and
accuracy over all classes. The INT8 stage is measured by running the Q/DQ graph in onnxruntime.
"""

from __future__ import annotations

import copy
import logging
import tempfile
import warnings
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from pydantic import Field, model_validator
from torch import nn

from trigkit.compile.int8 import Int8Config, quantize_int8
from trigkit.compile.onnx_export import export_onnx
from trigkit.compile.onnx_run import onnx_probabilities
from trigkit.compile.prune import PruneReport, PruningSchedule, prune
from trigkit.compile.scoring import probabilities, score
from trigkit.compile.width_scan import copy_weights_back, quantize_at
from trigkit.core.errors import TrigkitError
from trigkit.core.validated import Validated
from trigkit.events.sources import open_events
from trigkit.models import metrics as M
from trigkit.models.feature_set import FeatureSet
from trigkit.models.saved import TrainedModel
from trigkit.models.training import TensorData, fit, split

log = logging.getLogger(__name__)


class QATOptions(Validated):
    """Fixed-point QAT: total width of weights, biases and activations (integer bits \
from ranges)."""

    bits: int = Field(ge=2, le=32)
    epochs: int = Field(default=3, ge=0, description="QAT fine-tuning epochs; 0 = post-training")
    range_quantile: float = Field(
        default=0.999,
        gt=0.5,
        le=1.0,
        description="input/activation types cover this quantile of the calibration values",
    )


class Int8Options(Validated):
    calibration: Literal["max", "percentile", "entropy"] = "entropy"
    onnx_out: Path


class CompressConfig(Validated):
    prune: PruningSchedule | None = None
    qat: QATOptions | None = None
    int8: Int8Options | None = None
    lr: float = Field(default=1e-3, gt=0)
    batch_size: int = Field(default=512, ge=1)
    patience: int = Field(default=3, ge=1)
    seed: int = 0
    progress: bool = False

    @model_validator(mode="after")
    def _something_to_do(self) -> CompressConfig:
        if self.prune is None and self.qat is None and self.int8 is None:
            raise ValueError("nothing to do: give pruning, QAT and/or INT8 settings")
        return self


@dataclass(frozen=True)
class StageMetrics:
    stage: str  # "float", "pruned", "qat", "int8"
    auc: float
    accuracy: float
    nonzero_params: int
    n_params: int


@dataclass(frozen=True)
class CompressResult:
    """The compressed (float, pruned, QAT-trained) model and what each stage cost."""

    model: TrainedModel
    stages: tuple[StageMetrics, ...]
    prune: PruneReport | None = None
    qat_config: object | None = None  # trigkit.compile.qat.QATConfig
    qat_module: nn.Module | None = None
    int8_onnx: Path | None = None

    def stage(self, name: str) -> StageMetrics:
        for s in self.stages:
            if s.stage == name:
                return s
        raise TrigkitError(f"no compression stage '{name}'; ran {[s.stage for s in self.stages]}")

    def change(self, name: str, metric: Literal["auc", "accuracy"] = "auc") -> float:
        """Relative change of ``metric`` from the float model to stage ``name``."""
        ref = getattr(self.stage("float"), metric)
        return (getattr(self.stage(name), metric) - ref) / ref


def load_features(
    model: TrainedModel,
    paths: list[Path],
    *,
    max_jets: int | None = None,
    val_fraction: float = 0.2,
    seed: int = 0,
) -> tuple[FeatureSet, FeatureSet]:
    """This model's features from event files, split into (train, validation) jets.

    Without ``max_jets``, the same files, fraction and seed as at training time give the same
    split as :func:`trigkit.models.training.train`, so the validation jets stay unseen.
    """
    if not 0.0 < val_fraction < 1.0:
        raise TrigkitError(f"validation fraction must be in (0, 1), got {val_fraction}")
    if not paths:
        raise TrigkitError("no event files given")
    fs = FeatureSet.concatenate([model.features(open_events(p)) for p in paths])
    if len(fs) == 0:
        raise TrigkitError(f"no labelled {model.kind} objects in {', '.join(map(str, paths))}")
    if max_jets is not None and len(fs) > max_jets:
        keep = np.sort(np.random.default_rng(seed + 1).choice(len(fs), max_jets, replace=False))
        fs = fs.select(keep)
    return split(fs, val_fraction, seed)


# --- metrics --------------------------------------------------------------------------------


def _stage(
    name: str, model: TrainedModel, module: nn.Module, val: TensorData, kind: str
) -> StageMetrics:
    auc, acc = score(model, probabilities(module, val), val.labels, kind)
    return StageMetrics(name, auc, acc, M.n_params(module, nonzero=True), M.n_params(module))


# --- stages ---------------------------------------------------------------------------------


def _finetuner(train: TensorData, val: TensorData, cfg: CompressConfig):
    def finetune(module: nn.Module, epochs: int) -> None:
        fit(
            module,
            train,
            val,
            epochs=epochs,
            lr=cfg.lr,
            batch_size=cfg.batch_size,
            patience=cfg.patience,
            seed=cfg.seed,
            progress=cfg.progress,
        )

    return finetune


def _prune_stage(
    model: TrainedModel,
    module: nn.Module,
    tr: TensorData,
    va: TensorData,
    cfg: CompressConfig,
    kind: str,
) -> PruneReport:
    assert cfg.prune is not None

    def evaluate(m: nn.Module) -> float:
        return score(model, probabilities(m, va), va.labels, kind)[0]

    return prune(
        module, cfg.prune, finetune=_finetuner(tr, va, cfg), evaluate=evaluate, metric_name="auc"
    )


def _qat_stage(
    module: nn.Module, tr: TensorData, va: TensorData, cfg: CompressConfig
) -> tuple[nn.Module, object]:
    """QAT model of ``module`` at ``cfg.qat.bits`` (pruned zeros kept), fine-tuned if asked."""
    assert cfg.qat is not None
    return quantize_at(
        module,
        cfg.qat.bits,
        tr,
        epochs=cfg.qat.epochs,
        finetune=_finetuner(tr, va, cfg),
        range_quantile=cfg.qat.range_quantile,
    )


def _int8_stage(
    module: nn.Module,
    input_names: tuple[str, ...],
    tr: TensorData,
    va: TensorData,
    opts: Int8Options,
) -> np.ndarray:
    """Write the calibrated Q/DQ ONNX of ``module``; return its probabilities on ``va``."""
    calib = dict(zip(input_names, tr.inputs, strict=True))
    with tempfile.TemporaryDirectory(prefix="trigkit-int8-") as tmp, warnings.catch_warnings():
        # the tracer warns about shape checks in the export wrapper; shapes are fixed per model
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        fp32 = export_onnx(module, calib, Path(tmp) / "fp32.onnx")
        quantize_int8(fp32, opts.onnx_out, calib, Int8Config(calibration=opts.calibration))
    return onnx_probabilities(opts.onnx_out, dict(zip(input_names, va.inputs, strict=True)))


def compress(
    model: TrainedModel, train: FeatureSet, val: FeatureSet, config: CompressConfig
) -> CompressResult:
    """Prune / quantize a copy of ``model``; ``model`` itself is left untouched."""
    for what, fs in (("training", train), ("validation", val)):
        if len(fs) == 0:
            raise TrigkitError(
                f"compress: the {what} set is empty (no labelled jets in the events)"
            )
        if fs.kind != model.kind:
            raise TrigkitError(
                f"compress: model '{model.name}' uses {model.kind} features, "
                f"the {what} set has {fs.kind}"
            )
    tr = TensorData.from_features(train, model.preprocessing)
    va = TensorData.from_features(val, model.preprocessing)
    torch.manual_seed(config.seed)
    module = copy.deepcopy(model.module).float()
    stages = [_stage("float", model, module, va, model.kind)]
    report = None
    if config.prune is not None:
        report = _prune_stage(model, module, tr, va, config, model.kind)
        stages.append(_stage("pruned", model, module, va, model.kind))
    onnx_path = None
    if config.int8 is not None:  # the GPU path takes the pruned float model
        probs = _int8_stage(module, model.input_names, tr, va, config.int8)
        auc, acc = score(model, probs.astype(np.float64), va.labels, model.kind)
        n = M.n_params(module)
        stages.append(StageMetrics("int8", auc, acc, M.n_params(module, nonzero=True), n))
        onnx_path = config.int8.onnx_out
    qat_config = qat_module = None
    if config.qat is not None:
        qat_module, qat_config = _qat_stage(module, tr, va, config)
        stages.append(_stage("qat", model, qat_module, va, model.kind))
        copy_weights_back(qat_module, module)  # the saved model holds the QAT-trained weights
    return CompressResult(
        model=_result_model(model, module, config, report, qat_config, stages),
        stages=tuple(stages),
        prune=report,
        qat_config=qat_config,
        qat_module=qat_module,
        int8_onnx=onnx_path,
    )


def _result_model(
    model: TrainedModel,
    module: nn.Module,
    cfg: CompressConfig,
    report: PruneReport | None,
    qat_config: object | None,
    stages: list[StageMetrics],
) -> TrainedModel:
    extra = dict(model.extra)
    extra["compression"] = [asdict(s) for s in stages]
    suffix = []
    if report is not None:
        extra["pruning"] = {**cfg.prune.model_dump(mode="json"), "sparsity": report.sparsity}  # type: ignore[union-attr]
        suffix.append("pruned")
    if qat_config is not None:
        extra["qat"] = qat_config.to_dict()  # type: ignore[attr-defined]
        suffix.append(f"qat{cfg.qat.bits}")  # type: ignore[union-attr]
    name = "-".join([model.name, *suffix]) if suffix else model.name
    module.eval()
    return replace(model, name=name, module=module, extra=extra, metrics=None)


__all__ = [
    "CompressConfig",
    "CompressResult",
    "Int8Options",
    "QATOptions",
    "PruningSchedule",
    "StageMetrics",
    "compress",
    "load_features",
]
