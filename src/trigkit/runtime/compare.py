"""Polygraphy-style comparison: a bundle's original model against every artifact in the bundle.

The original is what the user gave ``trigkit compile`` (kept in the bundle as
``source/<file>``), run by its own framework: onnxruntime on the ``.onnx`` file, torch on the
TorchScript / torch.export file, qonnx's executor on a QONNX file (``Quant`` nodes) where
qonnx is installed, else the importer's float reference applying the Quant types, and the
Keras weights through the float reference of :mod:`trigkit.importers.graph` (no TensorFlow
needed). The artifacts are the bundle's ONNX graph
in onnxruntime (gpu), its FirmwareNetwork in the numba emulation and, on request, a freshly
built hls4ml C simulation (fpga). Per output: max abs / rel error, the rows beyond
``atol + rtol * |original|``, the worst rows and a histogram of the differences.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from trigkit.bundle.manifest import Bundle, load_bundle
from trigkit.core.errors import TrigkitError
from trigkit.core.lazy import require

FPGA_ATOL = 0.05  # a tolerance for the quantization error of an ~8-bit network
HIST_EDGES = (0.0, 1e-6, 1e-4, 1e-2, 1e-1, 1.0, np.inf)
N_WORST = 5


@dataclass(frozen=True)
class OutputDiff:
    """One artifact's output against the original's."""

    artifact: str
    output: str
    rows: int
    max_abs: float
    max_rel: float
    mismatches: int
    worst_rows: tuple[int, ...]
    worst_abs: tuple[float, ...]
    histogram: tuple[int, ...]  # counts of max |diff| per row in HIST_EDGES bins
    atol: float
    rtol: float


@dataclass(frozen=True)
class Comparison:
    bundle: str
    original: str
    data: str
    diffs: tuple[OutputDiff, ...]
    notes: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()  # artifacts checked against the emulation at build time, failing

    @property
    def ok(self) -> bool:
        return all(d.mismatches == 0 for d in self.diffs) and not self.failed


def diff_outputs(
    artifact: str, output: str, got: np.ndarray, want: np.ndarray, atol: float, rtol: float
) -> OutputDiff:
    """Compare ``got`` with ``want`` row by row (float64)."""
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    if got.shape != want.shape:
        raise TrigkitError(f"{artifact}: output shape {got.shape}, the original gives {want.shape}")
    d = np.abs(got - want).reshape(len(got), -1)
    bad = d > atol + rtol * np.abs(want).reshape(len(want), -1)
    bad |= np.isnan(d)
    row = np.nan_to_num(d, nan=np.inf).max(axis=1) if d.size else np.zeros(len(d))
    rel = d / np.maximum(np.abs(want).reshape(len(want), -1), 1e-12)
    order = np.argsort(-row, kind="stable")[:N_WORST]
    hist, _ = np.histogram(np.minimum(row, 1e300), bins=np.array(HIST_EDGES[:-1] + (1e301,)))
    return OutputDiff(
        artifact,
        output,
        len(got),
        float(row.max()) if len(row) else 0.0,
        float(np.nan_to_num(rel, nan=np.inf).max()) if rel.size else 0.0,
        int(np.count_nonzero(bad.any(axis=1))),
        tuple(int(i) for i in order),
        tuple(float(row[i]) for i in order),
        tuple(int(c) for c in hist),
        atol,
        rtol,
    )


def compare_bundle(
    path: Path,
    data: Path | None = None,
    *,
    atol: float | None = None,
    rtol: float = 0.0,
    csim: bool = False,
) -> Comparison:
    """Run the original model and every artifact of the bundle at ``path`` on the same rows."""
    bundle = load_bundle(path)
    info = bundle.manifest.target_info.get("imported")
    if not info:
        raise TrigkitError(
            f"{path}: not built from a model file trained elsewhere (no target_info.imported); "
            "compare needs the original model"
        )
    source = bundle.file(info["source_file"])
    fpga = bundle.manifest.target == "fpga"
    if fpga:
        x, where = _rows(bundle, info, data)
        x, x_fw = source_and_firmware_rows(info, x)
        feed = {info["input"]: x}
    else:
        feed, where = _gpu_feed(bundle, info, data)
    want = run_original(source, info, feed)
    tol = atol if atol is not None else FPGA_ATOL if fpga else bundle.manifest.reference_tolerance
    out_name = bundle.manifest.outputs[0].name
    notes: list[str] = []
    failed: list[str] = []
    if fpga:
        artifacts = _fpga_artifacts(bundle, x_fw, csim)
        notes += _fpga_notes(bundle)
        note, rtl_ok = rtl_note(bundle)
        notes.append(note)
        failed += [] if rtl_ok else ["RTL simulation"]
    else:
        artifacts = _gpu_artifacts(bundle, feed, notes)
    diffs = tuple(diff_outputs(a, out_name, y, want, tol, rtol) for a, y in artifacts.items())
    label = _original_label(source, info)
    return Comparison(str(path), label, where, diffs, tuple(notes), tuple(failed))


def _gpu_feed(bundle: Bundle, info: dict, data: Path | None) -> tuple[dict[str, np.ndarray], str]:
    """Every input's rows: ``--data`` (one input: .npz or .parquet as for compile; several:
    an .npz with one array per input) or the bundle's reference.npz."""
    from trigkit.compile.targets.imported import info_inputs

    shapes = info_inputs(info)
    if data is None:
        ins, _ = bundle.reference()
        feed = {n: np.asarray(ins[n], dtype=np.float64) for n in shapes}
        return feed, f"reference.npz: {len(next(iter(feed.values())))} rows"
    if len(shapes) == 1:
        x, where = _rows(bundle, info, data)
        return {info["input"]: x}, where
    from trigkit.importers.data import read_feed

    got = read_feed(data, shapes)
    return got.feed, got.source


def _rows(bundle: Bundle, info: dict, data: Path | None) -> tuple[np.ndarray, str]:
    if data is not None:
        from trigkit.importers.data import read_rows
        from trigkit.importers.preprocessing import FeatureScaling

        pre = info.get("preprocessing")
        scaling = FeatureScaling.model_validate(pre) if pre else None
        rows = read_rows(data, info["input"], tuple(info["input_shape"]), scaling)
        return rows.x, rows.source
    ins, _ = bundle.reference()
    x = np.asarray(ins[info["input"]], dtype=np.float64)
    if bundle.manifest.target == "fpga":
        from trigkit.fixedpoint.network import FirmwareNetwork

        t = FirmwareNetwork.from_json(bundle.manifest.target_info["network"]).input_t
        keep = np.all(np.isfinite(x) & (x >= t.min) & (x <= t.max), axis=1)
        return x[keep], f"reference.npz: {int(keep.sum())} rows inside {t.hls()}"
    return x, f"reference.npz: {len(x)} rows"


def source_and_firmware_rows(info: dict, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(rows in the source layout, flat firmware rows)`` of a set model's rows given in either
    layout (the firmware reads constituent-major rows, see trigkit.importers.set_firmware)."""
    shape = tuple(info["input_shape"])
    if len(shape) == 1:
        return x, x
    cf = bool(info.get("channels_first"))
    if x.ndim == 2:  # flat firmware rows (reference.npz)
        src = x.reshape(len(x), *(shape[::-1] if cf else shape))
        return (np.swapaxes(src, 1, 2) if cf else src), x
    fw = np.swapaxes(x, 1, 2) if cf else x
    return x, np.ascontiguousarray(fw.reshape(len(x), -1))


def _original_label(source: Path, info: dict) -> str:
    fmt = info["format"]
    how = {"onnx": "onnxruntime", "torchscript": "torch.jit", "torch_export": "torch.export"}
    if fmt == "onnx" and not _standard_onnx(source):
        if importlib.util.find_spec("qonnx") is not None:
            return f"{source.name} (QONNX: qonnx's executor)"
        return f"{source.name} (QONNX: trigkit's numpy reference applying its Quant types)"
    return f"{source.name} ({how.get(fmt, 'its weights through trigkit numpy reference')})"


def run_original(source: Path, info: dict, feed: dict[str, np.ndarray]) -> np.ndarray:
    """The original model file on ``feed`` (its inputs, in order), in its own framework (see
    the module docstring)."""
    fmt = info["format"]
    if fmt == "onnx" and _standard_onnx(source):
        return _ort(source, feed)
    if fmt in ("torchscript", "torch_export"):
        from trigkit.importers.torch_graph import run_torch_file

        return run_torch_file(source, fmt, list(feed.values()))
    x = feed[info["input"]]
    if fmt == "onnx" and importlib.util.find_spec("qonnx") is not None:
        return _qonnx(source, info["input"], x)
    from trigkit.importers import forward, import_model

    shapes = {info["input"]: tuple(info["input_shape"])}
    return forward(import_model(source, shapes), x)


def _standard_onnx(path: Path) -> bool:
    """False for QONNX graphs (custom ``Quant`` domain): onnxruntime cannot run them, so the
    importer's numpy reference (which applies the Quant types) stands in for the original."""
    onnx = require("onnx", "gpu")
    graph = onnx.load(str(path), load_external_data=False).graph
    return all(node.domain in ("", "ai.onnx") for node in graph.node)


def _ort(path: Path, feed: dict[str, np.ndarray]) -> np.ndarray:
    ort = require("onnxruntime", "gpu")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1
    opts.add_session_config_entry("session.disable_quant_qdq", "1")  # Q/DQ as written
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    f32 = {k: v.astype(np.float32) for k, v in feed.items()}
    dim = sess.get_inputs()[0].shape[0]
    if not isinstance(dim, int) or dim <= 0:  # a free batch axis
        return np.asarray(sess.run(None, f32)[0], dtype=np.float64)
    from trigkit.importers.data import pad_rows

    n, out = len(next(iter(f32.values()))), []  # exported with a fixed batch: run in chunks
    for i in range(0, n, dim):
        chunk = {k: pad_rows(v[i : i + dim], dim) for k, v in f32.items()}
        out.append(np.asarray(sess.run(None, chunk)[0], dtype=np.float64)[: min(dim, n - i)])
    return np.concatenate(out)


def _qonnx(path: Path, name: str, x: np.ndarray) -> np.ndarray:
    """A QONNX file run by qonnx's own executor (which runs one fixed batch size)."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx
    from qonnx.transformation.infer_shapes import InferShapes

    model = ModelWrapper(str(path))
    _spell_out_quant_defaults(model.graph)
    model.set_tensor_shape(name, list(x.shape))
    model = model.transform(InferShapes())
    out = execute_onnx(model, {name: x.astype(np.float32)})
    return np.asarray(out[model.graph.output[0].name], dtype=np.float64)


def _spell_out_quant_defaults(graph: Any) -> None:
    """qonnx's executor needs every ``Quant`` attribute; the QONNX spec has defaults."""
    from onnx import helper

    defaults = {"signed": 1, "narrow": 0, "rounding_mode": "ROUND"}
    for node in graph.node:
        if node.op_type == "Quant":
            have = {a.name for a in node.attribute}
            for key, value in defaults.items():
                if key not in have:
                    node.attribute.append(helper.make_attribute(key, value))


def _gpu_artifacts(
    bundle: Bundle, feed: dict[str, np.ndarray], notes: list[str]
) -> dict[str, np.ndarray]:
    """onnxruntime on model.onnx; TensorRT on model.engine where it can run here."""
    out = {"onnxruntime (model.onnx)": _ort(bundle.file("model.onnx"), feed)}
    if bundle.manifest.target_info.get("tensorrt") is None:
        notes.append("no TensorRT engine in the bundle")
        return out
    from trigkit.runtime.backends import RUNNERS

    ok, why = RUNNERS.entry("tensorrt").probe()
    if not ok:
        notes.append(f"TensorRT engine not run: {why}")
        return out
    try:
        with RUNNERS.create("tensorrt", bundle) as runner:
            y = runner.infer({k: v.astype(np.float32) for k, v in feed.items()})
    except TrigkitError as exc:
        notes.append(f"TensorRT engine not run: {exc}")
        return out
    out["TensorRT (model.engine)"] = np.asarray(y, dtype=np.float64)
    return out


def _fpga_artifacts(bundle: Bundle, x: np.ndarray, csim: bool) -> dict[str, np.ndarray]:
    from trigkit.firmware.emulate import FirmwareEmulator
    from trigkit.fixedpoint.network import FirmwareNetwork

    network = FirmwareNetwork.from_json(bundle.manifest.target_info["network"])
    out = {"numba fixed-point emulation": FirmwareEmulator(network).predict(x)}
    if csim:
        out["hls4ml C simulation (rebuilt)"] = _csim(network, x)
    return out


def _csim(network: object, x: np.ndarray) -> np.ndarray:
    import tempfile

    from trigkit.firmware import hls4ml as hls

    with tempfile.TemporaryDirectory(prefix="trigkit-compare-") as tmp:
        model, _ = hls.convert_logged(network, Path(tmp) / "prj")  # type: ignore[arg-type]
        hls.build_csim(model)
        return hls.csim_predict(model, x)


def rtl_note(bundle: Bundle) -> tuple[str, bool]:
    """(line, ok) for the bundle's RTL: the Verilator simulation `compile --rtl` ran against the
    numba emulation (the bundle keeps its report, not the simulator), or why there is none."""
    import json

    name = bundle.manifest.target_info.get("rtl_report")
    if not name:
        return "no RTL in the bundle (compile --rtl builds and simulates it)", True
    sim = json.loads(bundle.file(name).read_text()).get("sim")
    if not sim:
        return "RTL in the bundle was not simulated (Verilator missing at compile time)", True
    bad, n = int(sim["mismatches"]), int(sim["n_samples"])
    line = (
        f"RTL simulation (Verilator, at compile time) vs the numba emulation: {bad} of {n} rows "
        f"differ (bit for bit); latency {sim['latency_cycles']} cycles, II {sim['ii']}"
    )
    return line, bad == 0


def _fpga_notes(bundle: Bundle) -> tuple[str, ...]:
    """The bundle's stored C-sim outputs against the numba emulation, bit for bit."""
    from trigkit.firmware.emulate import FirmwareEmulator
    from trigkit.fixedpoint.network import FirmwareNetwork

    network = FirmwareNetwork.from_json(bundle.manifest.target_info["network"])
    ins, outs = bundle.reference()
    x, y = next(iter(ins.values())), next(iter(outs.values()))
    bad = int(np.count_nonzero(np.any(FirmwareEmulator(network).predict(x) != y, axis=1)))
    return (
        f"numba emulation vs the bundle's hls4ml C-sim outputs: {bad} of {len(x)} reference rows "
        "differ (bit for bit)",
    )
