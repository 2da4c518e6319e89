"""Post-training INT8: calibrate a float32 ONNX graph and write Q/DQ ONNX that TensorRT accepts.

This is onnxruntime's own static quantizer (``onnxruntime.quantization.quantize_static``)
configured for TensorRT's explicit-quantization rules:

* ``QuantFormat.QDQ`` - QuantizeLinear/DequantizeLinear pairs around float ops, which
  TensorRT's ONNX parser fuses into INT8 kernels;
* signed INT8 activations and weights, both **symmetric** (zero point 0, TensorRT's only
  supported zero point), weights per output channel;
* only ``MatMul``/``Gemm`` are quantized (for attention models the softmax, layer norms and
  residual adds stay in float), biases stay float.

Calibration methods map to onnxruntime's: ``max`` -> MinMax, ``percentile`` -> Percentile
(99.999 %), ``entropy`` -> Entropy (KL divergence, TensorRT's own default for INT8).
:func:`check_qdq` verifies the symmetric / int8 guarantees on the written file.
"""

from __future__ import annotations

import contextlib
import io
import logging
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from trigkit.core.atomic import atomic_path
from trigkit.core.errors import TrigkitError
from trigkit.core.lazy import require

log = logging.getLogger(__name__)

Calibration = Literal["max", "percentile", "entropy"]
CALIBRATIONS: tuple[str, ...] = ("max", "percentile", "entropy")
QUANTIZED_OPS = ("MatMul", "Gemm")
# INT8 goal of the taggers issue: AUC within 0.5 % of float
AUC_TOLERANCE = 0.005


@dataclass(frozen=True)
class Int8Config:
    """How to calibrate. ``batch`` is the number of calibration rows per reader step."""

    calibration: Calibration = "entropy"
    percentile: float = 99.999
    per_channel: bool = True
    histogram_bins: int = 2048  # percentile / entropy histograms (TensorRT uses 2048)
    # MatMul/Gemm layers left in float: the first sees raw features of very different ranges
    # (one per-tensor int8 scale for all of them), the last feeds the softmax directly
    float_layers: Literal["none", "first", "first_last"] = "first_last"
    batch: int = 512
    max_rows: int = 20_000

    def __post_init__(self) -> None:
        if self.calibration not in CALIBRATIONS:
            raise TrigkitError(
                f"unknown INT8 calibration '{self.calibration}'; valid: {', '.join(CALIBRATIONS)}"
            )
        if self.float_layers not in ("none", "first", "first_last"):
            raise TrigkitError(
                f"float_layers '{self.float_layers}' unknown; valid: none, first, first_last"
            )
        if self.histogram_bins < 256:
            raise TrigkitError(
                f"histogram_bins {self.histogram_bins} too small; use >= 256 "
                "(int8 needs 128 quantized bins)"
            )
        if not 0.0 < self.percentile <= 100.0:
            raise TrigkitError(f"calibration percentile {self.percentile} not in (0, 100]")


def _reader(inputs: dict[str, np.ndarray], batch: int) -> object:
    q = require("onnxruntime.quantization", "gpu")

    class _Reader(q.CalibrationDataReader):
        def __init__(self) -> None:
            n = len(next(iter(inputs.values())))
            self._it: Iterator[dict[str, np.ndarray]] = (
                {k: np.ascontiguousarray(v[i : i + batch]) for k, v in inputs.items()}
                for i in range(0, n, batch)
            )

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self._it, None)

    return _Reader()


def quantize_int8(
    fp32_onnx: Path,
    out: Path,
    calib_inputs: dict[str, np.ndarray],
    config: Int8Config | None = None,
) -> Path:
    """Calibrate ``fp32_onnx`` on ``calib_inputs`` (preprocessed model inputs) -> Q/DQ ONNX."""
    cfg = config or Int8Config()
    q = require("onnxruntime.quantization", "gpu")
    n = len(next(iter(calib_inputs.values()), []))
    if n == 0:
        raise TrigkitError("INT8 calibration needs at least one calibration row; got none")
    # equal-sized reader steps: onnxruntime's histogram collectors stack the steps' arrays
    step = min(cfg.batch, n, cfg.max_rows)
    rows = min(n, cfg.max_rows) // step * step
    calib = {k: v[:rows] for k, v in calib_inputs.items()}
    extra = {
        "ActivationSymmetric": True,
        "WeightSymmetric": True,
        "QuantizeBias": False,
        # per output channel: MatMul weights are [in, out] (Gemm's transB=1 weights [out, in])
        "QDQOpTypePerChannelSupportToAxis": {"MatMul": 1},
    }
    import inspect

    if "calibration_cache_path" not in inspect.signature(q.quantize_static).parameters:
        raise TrigkitError(
            f"onnxruntime {_ort_version()} quantize_static cannot take "
            "precomputed calibration ranges (calibration_cache_path); INT8 "
            "needs a newer onnxruntime (pip install -U onnxruntime)"
        )
    with atomic_path(out, suffix=".onnx") as tmp, tempfile.TemporaryDirectory() as work:
        cache, method = _calibrate(Path(fp32_onnx), calib, step, cfg, Path(work))
        # onnxruntime prints its progress and nags about its optional pre-processing step
        with contextlib.redirect_stdout(_LogWriter()), _quiet_root_logger():
            q.quantize_static(
                str(fp32_onnx),
                str(tmp),
                None,
                quant_format=q.QuantFormat.QDQ,
                activation_type=q.QuantType.QInt8,
                weight_type=q.QuantType.QInt8,
                per_channel=cfg.per_channel,
                op_types_to_quantize=list(QUANTIZED_OPS),
                nodes_to_exclude=_float_nodes(Path(fp32_onnx), cfg.float_layers),
                calibrate_method=method,
                extra_options=extra,
                calibration_cache_path=str(cache),
            )
        check_qdq(tmp)
    log.info("INT8 (%s calibration on %d rows) -> %s", cfg.calibration, rows, out)
    return out


def dense_nodes(fp32_onnx: Path) -> list[str]:
    """Names of the MatMul/Gemm nodes INT8 quantizes, in graph order (first = input layer)."""
    onnx = require("onnx", "gpu")
    return [n.name for n in onnx.load(str(fp32_onnx)).graph.node if n.op_type in QUANTIZED_OPS]


def _float_nodes(fp32_onnx: Path, policy: str) -> list[str]:
    """Names of the MatMul/Gemm nodes kept in float (graph order: first = input layer)."""
    names = dense_nodes(fp32_onnx)
    if not names or policy == "none":
        return []
    return names[:1] if policy == "first" or len(names) == 1 else [names[0], names[-1]]


def _calibrate(
    fp32_onnx: Path, calib: dict[str, np.ndarray], step: int, cfg: Int8Config, work: Path
) -> tuple[Path, object]:
    """Run onnxruntime's calibrator with TensorRT-like histogram settings; return its range cache.

    ``quantize_static`` alone gives the entropy calibrator 128 histogram bins for 128 quantized
    bins, which makes its threshold search degenerate to the max; TensorRT's entropy calibration
    uses 2048 bins, so the calibrator is created here with those settings.
    """
    from onnxruntime.quantization.calibrate import create_calibrator, save_tensors_data

    q = require("onnxruntime.quantization", "gpu")
    method, opts = {
        "max": (q.CalibrationMethod.MinMax, {"symmetric": True}),
        "percentile": (
            q.CalibrationMethod.Percentile,
            {"symmetric": True, "num_bins": cfg.histogram_bins, "percentile": cfg.percentile},
        ),
        "entropy": (
            q.CalibrationMethod.Entropy,
            {"symmetric": True, "num_bins": cfg.histogram_bins, "num_quantized_bins": 128},
        ),
    }[cfg.calibration]
    with contextlib.redirect_stdout(_LogWriter()):
        calibrator = create_calibrator(
            fp32_onnx,
            list(QUANTIZED_OPS),
            augmented_model_path=str(work / "augmented.onnx"),
            calibrate_method=method,
            extra_options=opts,
        )
        calibrator.collect_data(_reader(calib, step))
        ranges = calibrator.compute_data()
    cache = work / "calibration.json"
    save_tensors_data(ranges, cache)
    return cache, method


def _ort_version() -> str:
    import onnxruntime

    return str(onnxruntime.__version__)


@contextlib.contextmanager
def _quiet_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    flt = logging.Filter("trigkit")  # drop root-logger records of other libraries meanwhile

    def _keep(record: logging.LogRecord) -> bool:
        return flt.filter(record) or record.levelno >= logging.ERROR

    root.addFilter(_keep)
    try:
        yield
    finally:
        root.removeFilter(_keep)


class _LogWriter(io.TextIOBase):
    def write(self, text: str) -> int:
        if text.strip():
            log.debug("onnxruntime.quantization: %s", text.strip())
        return len(text)


@dataclass(frozen=True)
class QdqSummary:
    quantize_nodes: int
    dequantize_nodes: int
    quantized_ops: tuple[str, ...]


def check_qdq(path: Path) -> QdqSummary:
    """Verify the TensorRT rules on a Q/DQ graph: int8, zero point 0 everywhere."""
    onnx = require("onnx", "gpu")
    from onnx import numpy_helper

    model = onnx.load(str(path))
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    nq = ndq = 0
    consumers: set[str] = set()
    dq_outputs = set()
    for node in model.graph.node:
        if node.op_type not in ("QuantizeLinear", "DequantizeLinear"):
            continue
        nq += node.op_type == "QuantizeLinear"
        ndq += node.op_type == "DequantizeLinear"
        if node.op_type == "DequantizeLinear":
            dq_outputs.update(node.output)
        if len(node.input) < 3 or node.input[2] not in inits:
            raise TrigkitError(f"{path}: {node.op_type} '{node.name}' has no constant zero point")
        zp = inits[node.input[2]]
        if zp.dtype != np.int8 or np.any(zp != 0):
            raise TrigkitError(
                f"{path}: {node.op_type} '{node.name}' zero point {zp.dtype} {zp.ravel()[:4]} - "
                "TensorRT needs symmetric int8 (zero point 0)"
            )
    for node in model.graph.node:
        if any(i in dq_outputs for i in node.input) and node.op_type != "QuantizeLinear":
            consumers.add(node.op_type)
    if nq == 0:
        raise TrigkitError(f"{path}: no QuantizeLinear nodes - nothing was quantized")
    return QdqSummary(nq, ndq, tuple(sorted(consumers)))


def auc(scores: np.ndarray, is_signal: np.ndarray) -> float:
    """ROC AUC = P(score_sig > score_bkg) with ties counted 1/2 (Mann-Whitney U)."""
    from scipy.stats import rankdata

    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(is_signal, dtype=bool)
    n_sig, n_bkg = int(y.sum()), int((~y).sum())
    if n_sig == 0 or n_bkg == 0:
        raise TrigkitError(
            f"AUC needs signal and background; got {n_sig} signal, {n_bkg} background"
        )
    ranks = rankdata(s)
    return float((ranks[y].sum() - n_sig * (n_sig + 1) / 2) / (n_sig * n_bkg))


def discriminant(probs: np.ndarray, f_c: float = 0.05, eps: float = 1e-12) -> np.ndarray:
    """Class-0 discriminant: log(p0 / (f_c p1 + (1 - f_c) p_rest)); p0 itself for 2 classes."""
    p = np.asarray(probs, dtype=np.float64)
    if p.shape[1] == 1:
        return p[:, 0]
    if p.shape[1] == 2:
        return np.log(p[:, 0] + eps) - np.log(p[:, 1] + eps)
    bkg = f_c * p[:, 1] + (1.0 - f_c) * p[:, 2:].sum(axis=1)
    return np.log(p[:, 0] + eps) - np.log(bkg + eps)


@dataclass(frozen=True)
class Int8Check:
    auc_float: float
    auc_int8: float
    max_abs_diff: float

    @property
    def auc_change(self) -> float:
        """Relative AUC change (int8 - float) / float."""
        return (self.auc_int8 - self.auc_float) / self.auc_float


def compare_auc(
    float_probs: np.ndarray, int8_probs: np.ndarray, labels: np.ndarray, signal_class: int = 0
) -> Int8Check:
    """AUC of the class-0 discriminant for float and int8 probabilities on labelled rows."""
    sig = np.asarray(labels) == signal_class
    diff = float(np.max(np.abs(float_probs.astype(np.float64) - int8_probs))) if len(sig) else 0.0
    return Int8Check(auc(discriminant(float_probs), sig), auc(discriminant(int8_probs), sig), diff)
