"""The one adapter between a :class:`FirmwareNetwork` and hls4ml (PyTorch frontend).

- :func:`to_hls4ml_config` writes hls4ml's config dict with EVERY precision explicit (model
  default, input, per layer weight/bias/accum/result, softmax tables) - never ``auto``, which
  silently changes types and breaks agreement with the emulator.
- :func:`convert` rebuilds an ``nn.Sequential`` carrying the spec's exact weights and layer names,
  converts it, and checks that hls4ml kept every type, size and reuse factor of the spec.
- :func:`build_csim` compiles the C simulation with g++ (no vendor tool) and captures its log.
"""

from __future__ import annotations

import contextlib
import io
import logging
import shutil
import warnings
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from trigkit.core.errors import TrigkitError
from trigkit.core.lazy import require
from trigkit.firmware import hls4ml_layers
from trigkit.fixedpoint.fixed import FixedType
from trigkit.fixedpoint.network import WEIGHTED_KINDS, FirmwareLayer, FirmwareNetwork

log = logging.getLogger(__name__)
INPUT_LAYER = "input_1"
MODEL_DEFAULT = FixedType(32, 16)


def to_hls4ml_config(network: FirmwareNetwork) -> dict[str, Any]:
    """hls4ml ``hls_config`` for ``network`` (granularity 'name', nothing left to inference)."""
    layers: dict[str, Any] = {
        INPUT_LAYER: {"Precision": {"result": network.input_t.hls()}, "Trace": True}
    }
    for i, layer in enumerate(network.layers):
        layers[layer.name] = _layer_config(layer, network.input_type_of(i))
    return {
        "Model": {
            "Precision": {"default": MODEL_DEFAULT.hls()},
            "ReuseFactor": 1,
            "Strategy": network.strategy,
            "BramFactor": 1_000_000_000,
            "TraceOutput": False,
            # the PyTorch frontend transposes Linear weights (out, in) -> (in, out) in this pass
            "ChannelsLastConversion": "full",
            "TransposeOutputs": False,
        },
        "LayerName": layers,
        "InputShape": (network.n_inputs,),
    }


def _layer_config(layer: FirmwareLayer, in_t: FixedType) -> dict[str, Any]:
    prec: dict[str, str] = {"result": layer.result_t.hls()}
    cfg: dict[str, Any] = {"Precision": prec, "ReuseFactor": layer.reuse_factor, "Trace": True}
    if layer.kind == "mean_pool":
        prec["accum"] = layer.accum_t.hls()  # type: ignore[union-attr]
    elif layer.kind == "leaky_relu":
        prec["param"] = layer.param_t.hls()  # type: ignore[union-attr]
    elif layer.kind in WEIGHTED_KINDS:
        prec |= {
            "weight": layer.weight_t.hls(),  # type: ignore[union-attr]
            "bias": layer.bias_t.hls(),  # type: ignore[union-attr]
            "accum": layer.accum_t.hls(),  # type: ignore[union-attr]
        }
        if layer.strategy is not None:
            cfg["Strategy"] = layer.strategy
    elif layer.kind == "softmax":
        s = layer.softmax
        assert s is not None
        prec |= {
            "exp_table": s.exp_table_t.hls(),
            "inv_table": s.inv_table_t.hls(),
            "inv_inp": s.inv_inp_t.hls(),
            "accum": s.accum_t.hls(),
            "table": s.exp_table_t.hls(),
        }
        cfg |= {
            "TableSize": s.table_sizes(in_t)[1],
            "Implementation": s.implementation,
            "Skip": False,
            # hls4ml reads the table types from `<name>_t` layer keys, not from Precision
            # (which it ignores for them: a non-default inv_inp_t would silently be dropped)
            **{k: getattr(s, k).hls() for k in ("exp_table_t", "inv_table_t", "inv_inp_t")},
        }
    elif layer.kind == "sigmoid":
        s2 = layer.sigmoid
        assert s2 is not None
        prec["table"] = s2.table_t.hls()
        cfg["TableSize"] = s2.table_size
    return cfg


def to_torch(network: FirmwareNetwork) -> Any:
    """An ``nn.Sequential`` with the spec's layer names and exact (float64-on-grid) weights."""
    torch = require("torch", "fpga")
    nn = torch.nn
    mods: OrderedDict[str, Any] = OrderedDict()
    for layer in network.layers:
        if layer.kind == "dense":
            lin = nn.Linear(layer.n_in, layer.n_out)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(np.asarray(layer.weight, dtype=np.float32)))
                lin.bias.copy_(torch.from_numpy(np.asarray(layer.bias, dtype=np.float32)))
            mods[layer.name] = lin
        elif layer.kind == "relu":
            mods[layer.name] = nn.ReLU()
        elif layer.kind == "softmax":
            mods[layer.name] = nn.Softmax(dim=-1)
        elif layer.kind == "sigmoid":
            mods[layer.name] = nn.Sigmoid()
        else:
            mods[layer.name] = nn.Identity()
    return nn.Sequential(mods).eval()


def _check_exact_weights(network: FirmwareNetwork) -> None:
    if hls4ml_layers.needs_layer_list(network):
        return  # the layer list carries the float64 values themselves
    for layer in network.layers:
        if layer.kind == "dense":
            w = np.asarray(layer.weight, dtype=np.float64)
            if np.any(w.astype(np.float32).astype(np.float64) != w):
                raise TrigkitError(
                    f"layer '{layer.name}': weight type {layer.weight_t} is not exactly "
                    "representable in float32, which hls4ml's PyTorch frontend uses; use <= 24 "
                    "significant bits"
                )


def convert(network: FirmwareNetwork, out_dir: str | Path) -> Any:
    """Convert ``network`` to an hls4ml ``ModelGraph`` and write its project into ``out_dir``."""
    return convert_logged(network, out_dir)[0]


def convert_logged(network: FirmwareNetwork, out_dir: str | Path) -> tuple[Any, str]:
    """:func:`convert`, also returning what hls4ml printed ("Interpreting Model ...", the
    topology) instead of letting it reach the terminal."""
    hls4ml = require("hls4ml", "fpga")
    _check_exact_weights(network)
    for layer in network.layers:
        if layer.kind == "linear":
            raise TrigkitError(
                f"layer '{layer.name}' (linear): hls4ml's PyTorch frontend drops identity layers; "
                "fold the cast into the previous layer's result_t"
            )
    cfg = to_hls4ml_config(network)
    out_dir = Path(out_dir)
    buf = io.StringIO()
    try:
        with (
            contextlib.redirect_stdout(buf),
            contextlib.redirect_stderr(buf),
            warnings.catch_warnings(),
        ):
            warnings.simplefilter("ignore")
            hls_model = _hls_model(hls4ml, network, out_dir, cfg)
            check_conversion(network, hls_model)
            hls_model.write()
    except TrigkitError:
        raise
    except Exception as exc:  # hls4ml raises bare Exceptions for unsupported layers
        raise TrigkitError(f"hls4ml could not convert network '{network.name}': {exc}") from exc
    log.debug("hls4ml conversion log:\n%s", buf.getvalue())
    return hls_model, buf.getvalue()


def _hls_model(hls4ml: Any, network: FirmwareNetwork, out_dir: Path, cfg: dict[str, Any]) -> Any:
    if hls4ml_layers.needs_layer_list(network):
        return hls4ml_layers.build_model(network, str(out_dir), cfg, INPUT_LAYER)
    return hls4ml.converters.convert_from_pytorch_model(
        to_torch(network),
        output_dir=str(out_dir),
        project_name=network.project_name,
        backend=network.backend,
        hls_config=cfg,
        io_type=network.io_type,
        part=network.part,
        clock_period=network.clock_period_ns,
    )


def hls_layer_types(hls_model: Any) -> dict[str, dict[str, str]]:
    """``{layer: {type name: 'ap_fixed<...>'}}`` as hls4ml will emit them."""
    out: dict[str, dict[str, str]] = {}
    for layer in hls_model.get_layers():
        out[layer.name] = {k: _hls_str(v.precision) for k, v in layer.types.items()}
    return out


def _hls_str(precision: Any) -> str:
    """hls4ml's ``fixed<W,I,RND,SAT,0>`` as our ``ap_fixed<W,I,AP_RND,AP_SAT>`` (else as is)."""
    text = str(precision)
    if text.startswith("fixed<") or text.startswith("ufixed<"):
        inner = text[text.index("<") + 1 : -1].split(",")
        w, i = int(inner[0]), int(inner[1])
        q = {"TRN": "AP_TRN", "RND": "AP_RND", "RND_CONV": "AP_RND_CONV"}.get(inner[2], inner[2])
        o = {"WRAP": "AP_WRAP", "SAT": "AP_SAT"}.get(inner[3], inner[3])
        if q not in ("AP_TRN", "AP_RND", "AP_RND_CONV") or o not in ("AP_WRAP", "AP_SAT"):
            return text
        return FixedType(w, i, not text.startswith("u"), q, o).hls()  # type: ignore[arg-type]
    return text


def check_conversion(network: FirmwareNetwork, hls_model: Any) -> None:
    """Refuse a conversion in which hls4ml changed a layer, a type or a reuse factor."""
    got = hls_layer_types(hls_model)
    want: dict[str, dict[str, str]] = {INPUT_LAYER: {"result_t": network.input_t.hls()}}
    for layer in network.layers:
        w = {"result_t": layer.result_t.hls()}
        if layer.kind in WEIGHTED_KINDS:
            w |= {k + "_t": getattr(layer, k + "_t").hls() for k in ("weight", "bias", "accum")}
        if layer.kind == "mean_pool":
            w["accum_t"] = layer.accum_t.hls()  # type: ignore[union-attr]
        if layer.kind == "leaky_relu":
            w["param_t"] = layer.param_t.hls()  # type: ignore[union-attr]
        if layer.kind == "softmax":
            s = layer.softmax
            assert s is not None
            w |= {
                k: getattr(s, k).hls()
                for k in ("exp_table_t", "inv_table_t", "inv_inp_t", "accum_t")
            }
        if layer.sigmoid is not None:
            w["table_t"] = layer.sigmoid.table_t.hls()
        want[layer.name] = w
    missing = [n for n in want if n not in got]
    extra = [n for n in got if n not in want]
    if missing or extra:
        raise TrigkitError(
            f"hls4ml changed the layer list of '{network.name}': missing {missing}, "
            f"unexpected {extra}"
        )
    for name, types in want.items():
        for key, value in types.items():
            if got[name].get(key) != value:
                raise TrigkitError(
                    f"layer '{name}': hls4ml uses {key}={got[name].get(key)} "
                    f"but the spec says {value}"
                )
    by_name = {layer.name: layer for layer in hls_model.get_layers()}
    for layer in network.layers:
        rf = by_name[layer.name].get_attr("reuse_factor", 1)
        if int(rf) != layer.reuse_factor:
            raise TrigkitError(
                f"layer '{layer.name}': reuse factor {layer.reuse_factor} is not valid for hls4ml "
                f"(it would use {rf}); pick a divisor of n_in*n_out={layer.n_in * layer.n_out}"
            )


def build_csim(hls_model: Any) -> str:
    """``hls_model.compile()``: write the project and build the C simulation library with g++.

    Returns the captured build log; raises TrigkitError when g++ is missing or the build fails.
    """
    if shutil.which("g++") is None:
        raise TrigkitError("g++ not found on PATH; hls4ml's C simulation needs a C++ compiler")
    buf = io.StringIO()
    try:
        with (
            contextlib.redirect_stdout(buf),
            contextlib.redirect_stderr(buf),
            warnings.catch_warnings(),
        ):
            warnings.simplefilter("ignore")
            hls_model.compile()
    except Exception as exc:
        raise TrigkitError(
            f"hls4ml C simulation build failed: {exc}; log:\n{buf.getvalue()[-2000:]}"
        ) from exc
    return buf.getvalue()


@contextlib.contextmanager
def c_stdout_silenced() -> Iterator[None]:
    """Capture the C library's stdout/stderr while the C simulation runs.

    ap_fixed prints one 'WARNING: assign NaN to fixed point value' line per NaN input; those are
    dropped, anything else is passed on to the log.
    """
    import os
    import sys
    import tempfile

    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    try:
        fds = [sys.stdout.fileno(), sys.stderr.fileno()]
    except (OSError, ValueError, AttributeError):  # no real file descriptors (e.g. captured)
        yield
        return
    saved = [os.dup(fd) for fd in fds]
    with tempfile.TemporaryFile(mode="w+b") as sink:
        try:
            for fd in fds:
                os.dup2(sink.fileno(), fd)
            yield
        finally:
            for fd, old in zip(fds, saved, strict=True):
                os.dup2(old, fd)
                os.close(old)
            sink.seek(0)
            text = sink.read().decode(errors="replace")
    other = [
        line
        for line in text.splitlines()
        if line.strip() and "assign NaN to fixed point" not in line
    ]
    if other:
        log.warning("C simulation output:\n%s", "\n".join(other[:50]))


def csim_predict(hls_model: Any, x: np.ndarray, batch: int = 20_000) -> np.ndarray:
    """hls4ml C simulation outputs for float64 inputs ``[n, n_inputs]`` (the ``double`` bridge)."""
    x = np.ascontiguousarray(np.asarray(x, dtype=np.float64))
    outs = []
    with warnings.catch_warnings(), c_stdout_silenced():
        warnings.simplefilter("ignore")
        for start in range(0, len(x), batch):
            chunk = np.ascontiguousarray(x[start : start + batch])
            y = np.asarray(hls_model.predict(chunk), dtype=np.float64)
            outs.append(y.reshape(len(chunk), -1))
    return np.concatenate(outs) if outs else np.zeros((0, 0))


class CsimLibrary:
    """The C simulation library of a built hls4ml project, called through ctypes.

    ``project_dir`` is a directory where :func:`build_csim` ran (e.g. ``--keep-csim DIR``); its
    library reads the weights from that directory, so it must stay in place.
    """

    def __init__(
        self, project_dir: str | Path, n_in: int, n_out: int, project_name: str = "myproject"
    ) -> None:
        import ctypes

        libs = sorted(Path(project_dir).glob(f"firmware/{project_name}-*.so"))
        if not libs:
            raise TrigkitError(
                f"{project_dir}: no built C simulation (firmware/{project_name}-*.so)"
            )
        self._lib = ctypes.CDLL(str(libs[-1]))
        self._fn = getattr(self._lib, f"{project_name}_double")
        self._fn.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        self._fn.restype = None
        self.n_in, self.n_out = n_in, n_out

    def predict(self, x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(np.asarray(x, dtype=np.float64))
        if x.ndim != 2 or x.shape[1] != self.n_in:
            raise TrigkitError(f"C simulation inputs: expected (n, {self.n_in}), got {x.shape}")
        y = np.zeros((len(x), self.n_out), dtype=np.float64)
        xa, ya = x.ctypes.data, y.ctypes.data
        sx, sy = x.strides[0], y.strides[0]
        with c_stdout_silenced():
            for i in range(len(x)):
                self._fn(xa + i * sx, ya + i * sy)
        return y
