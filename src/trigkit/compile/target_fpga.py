"""The ``fpga`` compile target: QAT/PTQ -> FirmwareNetwork -> hls4ml project + verified C-sim.

:func:`compile_fpga` loads a saved tagger, quantizes it (the QAT config saved by ``trigkit
compress``, else post-training quantization with :class:`FpgaCompileConfig.qat`), builds the
:class:`~trigkit.firmware.spec.FirmwareNetwork`, writes the hls4ml project into the bundle,
builds the C simulation and runs reference inputs (random + edge + NaN/Inf) through the C
simulation, the numba emulator and the torch QAT model. The bundle is written only if all three
agree bit for bit. ``manifest.target_info`` holds :class:`FpgaTargetInfo`.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from trigkit.compile.bundle import (
    Bundle,
    LayerInfo,
    TensorSpec,
    load_bundle,
    new_manifest,
    write_bundle,
)
from trigkit.compile.qat_config import QATConfig
from trigkit.compile.targets import TARGETS
from trigkit.errors import TrigkitError

if TYPE_CHECKING:
    from trigkit.compile.qat import QATMLP
    from trigkit.firmware.spec import FirmwareNetwork

log = logging.getLogger(__name__)
PROJECT_DIR = "hls4ml_prj"
OUTPUT_NAME = "scores"
SYNTHETIC_CALIB_ROWS = 20_000


class FpgaCompileConfig(BaseModel):
    """Everything ``trigkit compile --target fpga`` can set."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    qat: QATConfig | None = Field(default=None, description="None: the model's saved QAT config, else QATConfig()")
    backend: Literal["Vitis", "Vivado"] = "Vitis"
    strategy: Literal["Latency", "Resource"] = "Latency"
    reuse_factor: int = Field(default=1, ge=1, description="for every dense layer not pinned in qat.layers")
    part: str = "xcvu9p-flga2104-2L-e"
    clock_period_ns: float = Field(default=5.0, gt=0)
    n_reference: int = Field(default=1000, ge=10)
    seed: int = 0
    fail_on_weight_overflow: bool = Field(
        default=False, description="refuse weights/biases that saturate (default: report them)"
    )


class FpgaTargetInfo(BaseModel):
    """``manifest.target_info`` of an FPGA bundle."""

    model_config = ConfigDict(extra="forbid")
    hls4ml_version: str
    project_dir: str
    backend: str
    io_type: str
    strategy: str
    part: str
    clock_period_ns: float
    network: dict[str, Any]
    reference_rows: int
    reference_mismatches: int = 0
    qat_config: dict[str, Any] | None = None
    preprocessing: dict[str, Any] | None = None
    calibration: str = ""
    weight_overflow: dict[str, Any] = Field(default_factory=dict)


def compile_fpga(
    model_path: Path,
    out: Path,
    *,
    config: FpgaCompileConfig | None = None,
    calib: np.ndarray | None = None,
    csim_dir: Path | None = None,
) -> Bundle:
    """Compile a saved tagger (``trigkit train``/``compress`` output) into an FPGA bundle.

    ``calib``: preprocessed inputs that set the integer bits of unpinned types (default:
    synthetic N(0,1) rows). ``csim_dir``: keep the built C simulation project there.
    """
    from trigkit.compile.qat import quantize_module, weight_overflow
    from trigkit.models.saved import load_model

    config = config or FpgaCompileConfig()
    model = load_model(model_path)
    if len(model.preprocessing.input_names) != 1:
        raise TrigkitError(
            f"{model_path}: model '{model.name}' takes {len(model.preprocessing.input_names)} inputs "
            "(a set model); the FPGA target supports per-jet MLPs"
        )
    qcfg = config.qat or _saved_qat(model.extra) or QATConfig()
    if calib is None:
        calib, source = _synthetic_calibration(len(model.preprocessing.feature_names), config.seed)
    else:
        source = f"{len(calib)} calibration rows"
    qat = quantize_module(
        model.module.float(), qcfg, calib, name=model.name,
        input_names=tuple(model.preprocessing.feature_names), output_names=tuple(model.class_names),
    )  # fmt: skip
    network = apply_build_options(qat.to_network(), config)
    over = weight_overflow(network)
    if over:
        detail = "; ".join(f"{name}: {o['weight']} weights outside {o['weight_t']} (max |w| "
                           f"{o['max_abs_weight']:.3g}), {o['bias']} biases outside {o['bias_t']}"
                           for name, o in over.items())  # fmt: skip
        if config.fail_on_weight_overflow:
            raise TrigkitError(f"{model_path}: precision too narrow, values saturate - {detail}")
        log.warning("precision too narrow, values saturate (as in the QAT model) - %s", detail)
    info = {
        "qat_config": qcfg.to_dict(),
        "preprocessing": model.preprocessing.to_dict(),
        "calibration": source,
        "weight_overflow": over,
    }
    bundle, _ = compile_network(network, out, config=config, qat=qat, info=info,
                                input_name=model.preprocessing.input_names[0], csim_dir=csim_dir)  # fmt: skip
    return bundle


def apply_build_options(network: FirmwareNetwork, config: FpgaCompileConfig) -> FirmwareNetwork:
    """Set backend, strategy, part, clock and the default reuse factor on ``network``."""
    from trigkit.firmware.spec import FirmwareLayer

    pinned = set((config.qat.layers if config.qat else {}).keys())
    layers = tuple(
        FirmwareLayer(**{**layer.__dict__, "reuse_factor": config.reuse_factor})
        if layer.kind == "dense" and layer.name not in pinned and config.reuse_factor != 1
        else layer
        for layer in network.layers
    )
    return network.with_(
        layers=layers, backend=config.backend, strategy=config.strategy, part=config.part,
        clock_period_ns=config.clock_period_ns,
    )  # fmt: skip


def reference_inputs(network: FirmwareNetwork, n: int, seed: int = 0) -> np.ndarray:
    """``n`` reference rows: random values, representable extremes, saturating values, NaN, Inf."""
    from trigkit.firmware.random_net import edge_inputs

    return edge_inputs(network, n, seed=seed)


def compile_network(
    network: FirmwareNetwork,
    out: Path,
    *,
    config: FpgaCompileConfig | None = None,
    qat: QATMLP | None = None,
    info: dict[str, Any] | None = None,
    input_name: str = "x",
    csim_dir: Path | None = None,
) -> tuple[Bundle, Any]:
    """Write the bundle of ``network``; returns ``(bundle, hls_model)`` (C-sim loaded).

    The C simulation is built in ``csim_dir`` (kept, reusable with
    :class:`trigkit.compile.hls.CsimLibrary`) or in a temporary directory.
    """
    from trigkit.compile import hls
    from trigkit.lazy import require

    hls4ml = require("hls4ml", "fpga")
    config = config or FpgaCompileConfig()
    manifest = new_manifest(
        target="fpga", backend=f"hls4ml-{network.backend.lower()}", model_name=network.name,
        precision=_precision_summary(network), inputs=[_input_spec(network, input_name)],
        outputs=[TensorSpec(name=OUTPUT_NAME, shape=(-1, network.n_outputs), dtype="float64",
                            features=network.output_names)],
        layers=[LayerInfo(name=layer.name, kind=layer.kind, precision=layer.precisions(),
                          reuse_factor=layer.reuse_factor, sparsity=layer.sparsity)
                for layer in network.layers],
        reference_tolerance=0.0,
    )  # fmt: skip
    x = reference_inputs(network, config.n_reference, config.seed)
    with contextlib.ExitStack() as stack:
        if csim_dir is None:
            csim_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="trigkit-hls-"))) / "prj"
        hls_model = hls.convert(network, csim_dir)
        build_log = hls.build_csim(hls_model)
        y = verify_agreement(network, hls_model, x, qat)
        with write_bundle(out, manifest) as writer:
            # the project without its C-sim library: the .so has the build directory baked in
            shutil.copytree(csim_dir, writer.path(PROJECT_DIR),
                            ignore=shutil.ignore_patterns("*.so", "*.o", "__pycache__"))  # fmt: skip
            writer.path("logs/csim_build.log").write_text(build_log)
            writer.save_reference({input_name: x}, {OUTPUT_NAME: y})
            manifest.target_info = FpgaTargetInfo(
                hls4ml_version=hls4ml.__version__, project_dir=PROJECT_DIR, backend=network.backend,
                io_type=network.io_type, strategy=network.strategy, part=network.part,
                clock_period_ns=network.clock_period_ns, network=network.to_json(),
                reference_rows=len(x), **(info or {}),
            ).model_dump(mode="json")  # fmt: skip
    return load_bundle(out, target="fpga"), hls_model


def verify_agreement(network: FirmwareNetwork, hls_model: Any, x: np.ndarray, qat: QATMLP | None) -> np.ndarray:
    """C-sim outputs for ``x``; TrigkitError unless emulator (and QAT model) agree bit for bit."""
    import torch

    from trigkit.compile import hls
    from trigkit.firmware.emulate import FirmwareEmulator

    y_csim = hls.csim_predict(hls_model, x)
    y_emu = FirmwareEmulator(network).predict(x)
    contenders = {"numba emulator": y_emu}
    if qat is not None:
        with torch.no_grad():
            contenders["torch QAT model"] = qat.firmware_forward(torch.from_numpy(x)).numpy()
    for who, y in contenders.items():
        bad = int(np.count_nonzero(np.any(y != y_csim, axis=1)))
        if bad:
            raise TrigkitError(
                f"{bad} of {len(x)} reference inputs give different outputs in the {who} and "
                f"hls4ml's C simulation of '{network.name}'; refusing to write the bundle"
            )
    return y_csim


def _input_spec(network: FirmwareNetwork, name: str) -> TensorSpec:
    return TensorSpec(name=name, shape=(-1, network.n_inputs), dtype="float64",
                      features=network.input_names,
                      units=tuple("preprocessed" for _ in network.input_names))  # fmt: skip


def _precision_summary(network: FirmwareNetwork) -> str:
    widths = sorted({layer.weight_t.width for layer in network.layers if layer.weight_t is not None})
    return f"ap_fixed weights {'/'.join(map(str, widths))}-bit, input {network.input_t.hls()}"


def _saved_qat(extra: dict[str, Any]) -> QATConfig | None:
    data = extra.get("qat")
    if not isinstance(data, dict):
        return None
    try:
        return QATConfig.model_validate(data)
    except Exception as exc:  # noqa: BLE001 - report it as a user-facing problem
        raise TrigkitError(f"saved model: invalid QAT config in extra['qat']: {str(exc).splitlines()[0]}") from None


def _synthetic_calibration(n_features: int, seed: int) -> tuple[np.ndarray, str]:
    rng = np.random.default_rng(seed)
    log.warning("no calibration data: integer bits of unpinned types come from N(0, 1) inputs")
    return rng.normal(size=(SYNTHETIC_CALIB_ROWS, n_features)).astype(np.float32), "synthetic N(0,1)"


def _probe() -> tuple[bool, str]:
    from trigkit.lazy import probe

    ok, why = probe("hls4ml")
    if not ok:
        return False, f"{why} (pip install 'trigkit[fpga]')"
    if shutil.which("g++") is None:
        return False, "g++ not found (needed for hls4ml's C simulation)"
    return True, "hls4ml + g++ C simulation"


TARGETS.register(
    "fpga",
    compile_fpga,
    _probe,
    "hls4ml firmware project + C simulation, verified against the bit-exact numba emulation",
)
