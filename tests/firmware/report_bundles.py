"""Hand-built FPGA / GPU bundles for the report tests (written with write_bundle directly)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.firmware.fpga_nets import dense_relu_net, random_inputs
from trigkit.bundle.manifest import LayerInfo, TensorSpec, new_manifest, write_bundle
from trigkit.firmware.emulate import FirmwareEmulator
from trigkit.fixedpoint.network import FirmwareNetwork


def float_forward(net: FirmwareNetwork, x: np.ndarray) -> np.ndarray:
    """The float64 model the firmware approximates (same weights, no quantization)."""
    h = np.nan_to_num(np.asarray(x, dtype=np.float64), posinf=0.0, neginf=0.0)
    for layer in net.layers:
        if layer.kind == "dense":
            h = h @ layer.weight.T + layer.bias
        elif layer.kind == "relu":
            h = np.maximum(h, 0.0)
        elif layer.kind == "softmax":
            e = np.exp(h - h.max(axis=1, keepdims=True))
            h = e / e.sum(axis=1, keepdims=True)
        elif layer.kind == "sigmoid":
            h = 1.0 / (1.0 + np.exp(-h))
    return h


def write_fpga_bundle(
    dest: Path,
    net: FirmwareNetwork | None = None,
    n: int = 400,
    extra_files: dict[str, str] | None = None,
    float_outputs: bool = True,
    x: np.ndarray | None = None,
) -> tuple[FirmwareNetwork, dict]:
    net = net or dense_relu_net(sizes=(4, 6, 3), seed=0, softmax=True)
    x = random_inputs(net, n, seed=5) if x is None else x
    n = len(x)
    fw = FirmwareEmulator(net).predict(x)
    fl = float_forward(net, x)
    rng = np.random.default_rng(2)
    labels = np.where(rng.random(n) < 0.8, np.argmax(fl, axis=1), rng.integers(0, fl.shape[1], n))
    manifest = new_manifest(
        target="fpga",
        backend=net.backend,
        model_name="tiny",
        precision="ap_fixed",
        inputs=[
            TensorSpec(
                name="x", shape=(-1, net.n_inputs), dtype="float64", features=net.input_names
            )
        ],
        outputs=[TensorSpec(name="y", shape=(-1, net.n_outputs), dtype="float64")],
        layers=[
            LayerInfo(
                name=layer.name,
                kind=layer.kind,
                precision=layer.precisions(),
                reuse_factor=layer.reuse_factor,
                sparsity=layer.sparsity,
            )
            for layer in net.layers
        ],
        target_info={
            "part": net.part,
            "clock_period_ns": net.clock_period_ns,
            "network": net.to_json(),
        },
    )
    with write_bundle(dest, manifest) as w:
        extra = {"float_y": fl, "labels": labels} if float_outputs else {}
        np.savez_compressed(w.path("reference.npz"), in_x=x, out_y=fw, **extra)
        for name, text in (extra_files or {}).items():
            w.path(name).write_text(text)
    return net, {"x": x, "fw": fw, "float": fl, "labels": labels}


def write_gpu_bundle(dest: Path) -> None:
    manifest = new_manifest(
        target="gpu",
        backend="onnxruntime",
        model_name="btag",
        precision="fp16",
        inputs=[TensorSpec(name="tracks", shape=(-1, 10, 6), dtype="float32")],
        outputs=[TensorSpec(name="score", shape=(-1, 1), dtype="float32")],
        reference_tolerance=2e-3,
    )
    with write_bundle(dest, manifest) as w:
        w.path("model.onnx").write_bytes(b"not really onnx")
