"""Keras / QKeras (``.keras`` zip or legacy ``.h5``) -> :class:`ImportedModel`, with h5py + json.

No TensorFlow is needed: the architecture is read from the model config (``config.json`` in a
``.keras`` zip, the ``model_config`` attribute of an ``.h5``) and the weights from HDF5
(``model.weights.h5``: ``layers/<name>/vars/<i>``; ``.h5``: ``model_weights/<name>/`` in the
order of its ``weight_names``). Supported layers: InputLayer, Dense, QDense, Activation,
QActivation, ReLU, LeakyReLU, Softmax, BatchNormalization (folded), Dropout, Flatten, and for
set (DeepSets) models on ``[batch, n_const, n_feat]``: Dense / QDense (directly on the 3-D
tensor or in a TimeDistributed) per constituent, Conv1D / QConv1D (kernel 1: per constituent;
wider: stride 1, 'valid' / 'same') and GlobalAveragePooling1D (channels last). QKeras
quantizers become exact fixed-point types (:mod:`trigkit.importers.quant`).
"""

from __future__ import annotations

import io
import json
import logging
import re
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from trigkit.core.errors import TrigkitError
from trigkit.importers.graph import ImportedModel, InputSpec, Op, append_batchnorm, fold_affines
from trigkit.importers.quant import qkeras_type, quantize_values

log = logging.getLogger(__name__)
SUPPORTED_LAYERS = (
    "InputLayer",
    "Dense",
    "QDense",
    "Activation",
    "QActivation",
    "ReLU",
    "LeakyReLU",
    "Softmax",
    "BatchNormalization",
    "Dropout",
    "Flatten",
    "Conv1D",
    "QConv1D",
    "TimeDistributed",
    "GlobalAveragePooling1D",
)
TIME_DISTRIBUTED = ("Dense", "QDense")  # the layers a TimeDistributed may wrap
ACTIVATIONS = {"relu": "relu", "softmax": "softmax", "sigmoid": "sigmoid", "linear": "linear"}


def import_keras(path: Path, shapes: dict[str, tuple[int, ...]]) -> ImportedModel:
    """A ``.keras`` zip (Keras 3 layout)."""
    try:
        with zipfile.ZipFile(path) as z:
            config = json.loads(z.read("config.json"))
            weights = z.read("model.weights.h5")
    except (KeyError, zipfile.BadZipFile, json.JSONDecodeError, OSError) as exc:
        raise TrigkitError(f"{path}: corrupt or incomplete .keras archive ({exc})") from None
    with _h5(io.BytesIO(weights), path) as f:
        return _build(path, config, lambda name, key: _keras3_vars(f, name, key), shapes, "keras")


def import_keras_h5(path: Path, shapes: dict[str, tuple[int, ...]]) -> ImportedModel:
    """A legacy Keras ``.h5`` model (``model_config`` attribute + ``model_weights`` group)."""
    with _h5(path, path) as f:
        raw = f.attrs.get("model_config")
        if raw is None:
            raise TrigkitError(f"{path}: an HDF5 file without 'model_config' (weights only?)")
        config = json.loads(raw.decode() if isinstance(raw, bytes) else raw)
        return _build(path, config, lambda name, key: _h5_vars(f, name), shapes, "keras_h5")


class _h5:  # noqa: N801 - a context manager named like the function it wraps
    def __init__(self, src: Any, path: Path) -> None:
        self.src, self.path = src, path

    def __enter__(self) -> h5py.File:
        try:
            self.f = h5py.File(self.src, "r")
        except OSError as exc:
            raise TrigkitError(f"{self.path}: corrupt or truncated HDF5 ({exc})") from None
        return self.f

    def __exit__(self, *exc: object) -> None:
        self.f.close()


def _keras3_vars(f: h5py.File, name: str, key: str) -> list[np.ndarray]:
    """``layers/<key>/vars/<i>``: Keras names the group by class and order (see _saving_keys)."""
    for group in (f"layers/{key}/vars", f"layers/{key}/layer/vars", f"layers/{name}/vars"):
        grp = f.get(group)  # a TimeDistributed keeps its layer's weights in layer/vars
        if grp is not None and len(grp):
            break
    if grp is None:
        return []
    return [np.asarray(grp[k], dtype=np.float64) for k in sorted(grp, key=int)]


def _h5_vars(f: h5py.File, name: str) -> list[np.ndarray]:
    grp = f.get(f"model_weights/{name}")
    if grp is None:
        return []
    names = [n.decode() if isinstance(n, bytes) else n for n in grp.attrs.get("weight_names", [])]
    return [np.asarray(grp[n], dtype=np.float64) for n in names]


def _build(
    path: Path,
    config: dict[str, Any],
    read_vars: Any,
    shapes: dict[str, tuple[int, ...]],
    fmt: str,
) -> ImportedModel:
    cls = config.get("class_name")
    if cls not in ("Sequential", "Functional", "Model"):
        raise TrigkitError(f"{path}: Keras model class '{cls}'; valid: Sequential, Functional")
    layers = config.get("config", {}).get("layers", [])
    if cls != "Sequential":
        _check_chain(path, layers)
    ops: list[Op] = []
    input_t = None
    spec = _input(path, config, layers, shapes)
    keys = _saving_keys(layers)
    for layer, key in zip(layers, keys, strict=True):
        lcls, cfg = layer.get("class_name"), layer.get("config", {})
        name = cfg.get("name", lcls)
        where = f"{path}: layer '{name}' ({lcls})"
        if lcls not in SUPPORTED_LAYERS:
            raise TrigkitError(f"{where}: unsupported; supported: {', '.join(SUPPORTED_LAYERS)}")
        if lcls in ("InputLayer", "Dropout", "Flatten"):
            continue
        if lcls == "TimeDistributed":
            lcls, cfg = _time_distributed(where, spec, cfg)
        if lcls in ("Dense", "QDense"):
            ops.extend(_dense(where, name, cfg, read_vars(name, key), lcls == "QDense"))
        elif lcls in ("Conv1D", "QConv1D"):
            ops.extend(_conv1d(where, name, cfg, read_vars(name, key), lcls == "QConv1D"))
        elif lcls == "GlobalAveragePooling1D":
            ops.append(_global_pool(where, name, cfg))
        elif lcls == "BatchNormalization":
            _batchnorm(ops, name, cfg, read_vars(name, key))
        elif lcls == "QActivation":
            t = qkeras_type(cfg.get("activation"), where)
            act = "relu" if "relu" in str(cfg.get("activation")) else "linear"
            if not ops:
                input_t = t
            else:
                ops.append(Op(name, act, result_t=t))  # type: ignore[arg-type]
        else:
            ops.append(_activation(where, name, lcls, cfg))
    name = config.get("config", {}).get("name") or path.stem
    return ImportedModel(
        source=path,
        format=fmt,
        name=name,
        inputs=(spec,),
        ops=_mark_per_constituent(fold_affines(ops, path), len(spec.shape) > 1),
        input_t=input_t,
    )


def _mark_per_constituent(ops: tuple[Op, ...], set_input: bool) -> tuple[Op, ...]:
    """Ops before the pooling of a ``[batch, n_const, n_feat]`` input run per constituent."""
    if not set_input:
        return ops
    out, pooled = [], False
    for op in ops:
        pooled = pooled or op.kind.endswith("_pool")
        out.append(op if pooled else replace(op, per_constituent=True))
    return tuple(out)


def _saving_keys(layers: list[dict[str, Any]]) -> list[str]:
    """The names Keras's ``.keras`` saving gives the layers' weight groups: the snake-case class
    name, then ``_1``, ``_2``... for later layers of the same class (not the layer names)."""
    used: dict[str, int] = {}
    keys = []
    for layer in layers:
        cls = str(layer.get("class_name", ""))
        snake = re.sub("([a-z])([A-Z])", r"\1_\2", re.sub("(.)([A-Z][a-z0-9]+)", r"\1_\2", cls))
        snake = snake.lower()
        n = used.get(snake, -1) + 1
        used[snake] = n
        keys.append(snake if n == 0 else f"{snake}_{n}")
    return keys


def _check_chain(path: Path, layers: list[dict[str, Any]]) -> None:
    """A Functional model must be one chain: each layer reads exactly the layer before it."""
    prev = None
    for layer in layers:
        name = layer.get("config", {}).get("name", layer.get("name"))
        inbound = _inbound(layer.get("inbound_nodes", []))
        if prev is not None and inbound != [prev]:
            raise TrigkitError(
                f"{path}: layer '{name}' reads {inbound or 'nothing'}, not '{prev}'; only "
                "single-chain Keras models are supported"
            )
        prev = name


def _inbound(nodes: Any) -> list[str]:
    """Names of the layers feeding a layer, from tf-keras or Keras 3 ``inbound_nodes``."""
    names: list[str] = []

    def walk(obj: Any) -> None:
        if isinstance(obj, dict):
            hist = obj.get("config", {}).get("keras_history") if "config" in obj else None
            if hist:
                names.append(str(hist[0]))
                return
            for v in obj.values():
                walk(v)
        elif isinstance(obj, list):
            if len(obj) >= 3 and isinstance(obj[0], str) and isinstance(obj[1], int):
                names.append(obj[0])  # tf-keras: [layer_name, node_index, tensor_index, kwargs]
                return
            for v in obj:
                walk(v)

    walk(nodes)
    return names


def _input(path: Path, config: dict[str, Any], layers: list, shapes: dict) -> InputSpec:
    first = layers[0].get("config", {}) if layers else {}
    name = (
        first.get("name", "input")
        if layers and layers[0].get("class_name") == "InputLayer"
        else ("input")
    )
    shape = first.get("batch_shape") or first.get("batch_input_shape")
    if name in shapes:
        return InputSpec(name, tuple(shapes[name]))
    if not shape or any(d is None for d in shape[1:]):
        raise TrigkitError(
            f"{path}: input '{name}' has no fixed shape ({shape}); give it with "
            f"--input-shape {name}:1x16 (batch first)"
        )
    return InputSpec(name, tuple(int(d) for d in shape[1:]))


def _time_distributed(where: str, spec: InputSpec, cfg: dict) -> tuple[str, dict]:
    """The wrapped layer of a TimeDistributed: a Dense / QDense run on every constituent."""
    inner = cfg.get("layer", {})
    cls = inner.get("class_name")
    if cls not in TIME_DISTRIBUTED or len(spec.shape) != 2:
        raise TrigkitError(
            f"{where}: wraps {cls} on an input of shape {spec.shape}; supported: "
            f"{', '.join(TIME_DISTRIBUTED)} on [batch, n_const, n_feat]"
        )
    return str(cls), dict(inner.get("config", {}))


def _dense(where: str, name: str, cfg: dict, vars_: list[np.ndarray], quantized: bool) -> list[Op]:
    if not vars_:
        raise TrigkitError(f"{where}: no weights stored for this layer")
    kernel = vars_[0]
    bias = vars_[1] if cfg.get("use_bias", True) and len(vars_) > 1 else np.zeros(kernel.shape[1])
    w, b, wt, bt = _quantized_params(where, cfg, kernel.T.copy(), bias.copy(), quantized)
    return [Op(name, "dense", w, b, weight_t=wt, bias_t=bt), *_layer_activation(where, name, cfg)]


def _quantized_params(
    where: str, cfg: dict, w: np.ndarray, b: np.ndarray, quantized: bool
) -> tuple[np.ndarray, np.ndarray, Any, Any]:
    """``(w, b, weight_t, bias_t)``: a QKeras layer's weights on its quantizers' grids."""
    wt = qkeras_type(cfg.get("kernel_quantizer"), where) if quantized else None
    bt = qkeras_type(cfg.get("bias_quantizer"), where) if quantized else None
    if wt is not None:
        w = quantize_values(w, wt)
    if bt is not None:
        b = quantize_values(b, bt)
    elif quantized and cfg.get("use_bias", True) and np.any(b != 0):
        log.warning(
            "%s: no bias_quantizer, so QKeras adds a float bias; the firmware rounds it to a "
            "fixed-point type and is not bit-exact with QKeras there",
            where,
        )
    return w, b, wt, bt


def _layer_activation(where: str, name: str, cfg: dict) -> list[Op]:
    """The ``activation`` of a Dense / Conv1D (a QKeras quantizer for QDense / QConv1D)."""
    act = cfg.get("activation", "linear")
    if act in (None, "linear"):
        return []
    if isinstance(act, dict) or "quantiz" in str(act):
        t = qkeras_type(act, where)
        kind = "relu" if "relu" in str(act) else "linear"
        return [Op(f"{name}_act", kind, result_t=t)]  # type: ignore[arg-type]
    return [_activation(where, f"{name}_act", "Activation", {"activation": act})]


def _conv1d(where: str, name: str, cfg: dict, vars_: list[np.ndarray], quantized: bool) -> list[Op]:
    """A Conv1D (channels last, stride 1, 'valid' / 'same'); kernel 1 is a per-constituent dense."""
    size = list(cfg.get("kernel_size", [1]))
    plain = list(cfg.get("strides", [1])) == [1] and list(cfg.get("dilation_rate", [1])) == [1]
    last = cfg.get("data_format", "channels_last") == "channels_last"
    padding = cfg.get("padding", "valid")
    if (
        len(size) != 1
        or not plain
        or not last
        or int(cfg.get("groups", 1)) != 1
        or (padding not in ("valid", "same"))
    ):
        raise TrigkitError(
            f"{where}: kernel {size}, strides {cfg.get('strides')}, padding {padding}, "
            f"{cfg.get('data_format')}; supported: stride 1, 'valid' or 'same', channels_last"
        )
    if not vars_ or vars_[0].ndim != 3:
        raise TrigkitError(f"{where}: no (kernel, n_chan, n_filt) kernel stored for this layer")
    k = int(size[0])
    if k == 1:
        return _dense(where, name, cfg, [vars_[0][0], *vars_[1:]], quantized)
    pads = (0, 0) if padding == "valid" else ((k - 1) // 2, k - 1 - (k - 1) // 2)
    kernel = vars_[0].transpose(2, 1, 0)  # (k, n_chan, n_filt) -> torch (n_filt, n_chan, k)
    bias = vars_[1] if cfg.get("use_bias", True) and len(vars_) > 1 else np.zeros(len(kernel))
    w, b, wt, bt = _quantized_params(where, cfg, kernel.copy(), np.array(bias), quantized)
    conv = Op(name, "conv1d", w, b, weight_t=wt, bias_t=bt, pads=pads)
    return [conv, *_layer_activation(where, name, cfg)]


def _global_pool(where: str, name: str, cfg: dict) -> Op:
    if cfg.get("data_format", "channels_last") != "channels_last" or cfg.get("keepdims"):
        raise TrigkitError(
            f"{where}: only channels_last without keepdims (a mean over the constituents)"
        )
    return Op(name, "mean_pool")


def _activation(where: str, name: str, cls: str, cfg: dict) -> Op:
    if cls == "ReLU":
        return Op(name, "relu6" if cfg.get("max_value") == 6 else "relu")
    if cls == "LeakyReLU":
        return Op(name, "leaky_relu", alpha=float(cfg.get("negative_slope", cfg.get("alpha", 0.3))))
    if cls == "Softmax":
        return Op(name, "softmax")
    act = cfg.get("activation")
    if act not in ACTIVATIONS:
        raise TrigkitError(f"{where}: activation '{act}'; supported: {', '.join(ACTIVATIONS)}")
    return Op(name, ACTIVATIONS[act])  # type: ignore[arg-type]


def _batchnorm(ops: list[Op], name: str, cfg: dict, vars_: list[np.ndarray]) -> None:
    it = iter(vars_)
    n = len(vars_[-1])
    gamma = next(it) if cfg.get("scale", True) else np.ones(n)
    beta = next(it) if cfg.get("center", True) else np.zeros(n)
    mean, var = next(it), next(it)
    scale = gamma / np.sqrt(var + float(cfg.get("epsilon", 1e-3)))
    append_batchnorm(ops, name, scale, beta - mean * scale)
