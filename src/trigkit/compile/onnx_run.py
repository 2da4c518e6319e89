"""Run and check ONNX graphs without torch: load and validate a file, run it in onnxruntime,
the tolerances of each precision. A user's own ONNX model (``trigkit compile model.onnx``) goes
through here alone; :mod:`trigkit.compile.onnx_export` (torch) exports trigkit's own taggers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from trigkit.core.errors import TrigkitError, first_line
from trigkit.core.lazy import require

OUTPUT_NAME = "probs"
# max |p_onnx - p_torch| allowed per precision (probabilities in [0, 1])
# (int8: the 99th percentile over rows of max |p_int8 - p_float|; its max is only reported)
TOLERANCE: dict[str, float] = {"fp32": 1e-5, "fp16": 1e-2, "int8": 0.2}


def load_onnx(path: Path) -> object:
    """Load and check an ONNX file; a corrupt or invalid file raises TrigkitError naming it."""
    onnx = require("onnx", "gpu")
    path = Path(path)
    if not path.is_file():
        raise TrigkitError(f"{path}: ONNX file not found")
    try:
        model = onnx.load(str(path))
        onnx.checker.check_model(model)
    except Exception as exc:  # noqa: BLE001 - onnx raises DecodeError, ValidationError, ...
        first = first_line(exc)
        raise TrigkitError(
            f"{path}: not a valid ONNX model ({type(exc).__name__}: {first})"
        ) from None
    return model


def onnx_probabilities(path: Path, inputs: dict[str, np.ndarray]) -> np.ndarray:
    """Run the ONNX graph in onnxruntime on CPU, one thread, no spinning."""
    ort = require("onnxruntime", "gpu")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    # run Q/DQ graphs as written (float fake-quant = TensorRT's integer math); onnxruntime's own
    # fused int8 CPU kernels may saturate 16-bit intermediates on CPUs without VNNI
    opts.add_session_config_entry("session.disable_quant_qdq", "1")
    try:
        sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001
        raise TrigkitError(
            f"{path}: onnxruntime cannot load it ({str(exc).splitlines()[0]})"
        ) from None
    return sess.run([OUTPUT_NAME], dict(inputs))[0]


def max_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)))) if a.size else 0.0
