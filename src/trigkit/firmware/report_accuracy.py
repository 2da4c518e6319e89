"""Float model vs firmware on a bundle's reference rows: the accuracy part of the FPGA report.

Only ordinary rows are compared (every input finite and inside the firmware's input type);
the edge rows a bundle keeps for the bit-exact check (saturating extremes, 1e30, NaN/Inf) are
counted apart, since the float model sees there a value the firmware cannot hold. A single
output (a binary tagger) is compared at a threshold (0.5 on a sigmoid, the float median on a
logit) and in LSBs of the firmware's output type.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from trigkit.bundle.manifest import REFERENCE
from trigkit.core.errors import TrigkitError
from trigkit.firmware.emulate import FirmwareEmulator


@dataclass(frozen=True)
class Accuracy:
    """Float model vs firmware on the bundle's ordinary reference inputs.

    Ordinary rows have every input finite and inside the firmware's input type; the others
    (``n_edge``: saturating extremes, 1e30, NaN/Inf, kept for the bit-exact check) are counted,
    not compared, since there the float model sees a value the firmware cannot hold.
    ``agreement`` is the fraction of rows whose decision is the same for float and firmware:
    the top class (argmax), or for a single output the side of ``threshold`` (``agreement_on``
    says which). ``output_lsb`` is the LSB of the firmware's output type, so errors can be read
    in LSBs (``max_diff_lsb``). With truth labels, ``float_accuracy`` / ``firmware_accuracy``
    are the classification accuracies. ``emulator_mismatches`` counts rows (edge rows
    included) where re-running the bit-exact emulator did not reproduce the stored firmware
    outputs (None: not re-run).
    """

    n: int
    agreement: float
    max_abs_diff: float
    mean_abs_diff: float
    float_accuracy: float | None = None
    firmware_accuracy: float | None = None
    emulator_mismatches: int | None = None
    n_edge: int = 0
    p99_abs_diff: float = float("nan")
    output_lsb: float | None = None
    output_type: str | None = None
    input_type: str | None = None
    agreement_on: str = "top class"
    threshold: float | None = None

    @property
    def accuracy_loss(self) -> float | None:
        """Float accuracy minus firmware accuracy (absolute), when labels are known."""
        if self.float_accuracy is None or self.firmware_accuracy is None:
            return None
        return self.float_accuracy - self.firmware_accuracy

    @property
    def max_diff_lsb(self) -> float | None:
        """``max_abs_diff`` in LSBs of the firmware's output type (None: type unknown)."""
        if self.output_lsb is None or self.max_abs_diff != self.max_abs_diff:
            return None
        return self.max_abs_diff / self.output_lsb

    @property
    def p99_diff_lsb(self) -> float | None:
        if self.output_lsb is None or self.p99_abs_diff != self.p99_abs_diff:
            return None
        return self.p99_abs_diff / self.output_lsb


def _top(y: np.ndarray, threshold: float) -> np.ndarray:
    return (y[:, 0] > threshold).astype(np.int64) if y.shape[1] == 1 else np.argmax(y, axis=1)


def compare_outputs(
    float_out: np.ndarray,
    firmware_out: np.ndarray,
    labels: np.ndarray | None = None,
    threshold: float = 0.5,
    emulator_mismatches: int | None = None,
) -> Accuracy:
    """Accuracy of float vs firmware outputs ``[n, n_out]`` (see :class:`Accuracy`); a single
    output is thresholded at ``threshold``."""
    f = np.asarray(float_out, dtype=np.float64)
    w = np.asarray(firmware_out, dtype=np.float64)
    f, w = f.reshape(len(f), -1), w.reshape(len(w), -1)
    if f.shape != w.shape or len(f) == 0:
        raise TrigkitError(
            f"float outputs {f.shape} and firmware outputs {w.shape} must have the same "
            "non-empty shape"
        )
    tf, tw = _top(f, threshold), _top(w, threshold)
    diff = np.abs(f - w)
    fa = wa = None
    if labels is not None:
        lab = np.asarray(labels).reshape(-1)
        if lab.ndim == 1 and len(lab) == len(f):
            lab = lab.astype(np.int64)
            fa, wa = float(np.mean(tf == lab)), float(np.mean(tw == lab))
        else:
            raise TrigkitError(
                f"labels: expected {len(f)} class indices, got shape {np.shape(labels)}"
            )
    single = f.shape[1] == 1
    return Accuracy(
        n=len(f),
        agreement=float(np.mean(tf == tw)),
        max_abs_diff=float(np.nanmax(diff)),
        mean_abs_diff=float(np.nanmean(diff)),
        float_accuracy=fa,
        firmware_accuracy=wa,
        emulator_mismatches=emulator_mismatches,
        p99_abs_diff=float(np.nanpercentile(np.nanmax(diff, axis=1), 99)),
        agreement_on=f"side of {threshold:.4g}" if single else "top class",
        threshold=float(threshold) if single else None,
    )


def ordinary_rows(x: np.ndarray, network: Any = None) -> np.ndarray:
    """Rows whose inputs are all finite and (network known) inside its input type, i.e. the
    rows where the firmware sees what the float model sees (``trigkit compare`` uses the same
    rows)."""
    flat = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    ok = np.isfinite(flat)
    if network is not None:
        t = network.input_t
        with np.errstate(invalid="ignore"):
            ok &= (flat >= t.min) & (flat <= t.max)
    return np.all(ok, axis=1)


def single_output_threshold(network: Any, float_out: np.ndarray) -> tuple[float, str]:
    """Where a one-output tagger is cut for the agreement: 0.5 on a sigmoid output, else (a
    logit) the float model's median, a working point with half the rows on each side."""
    if network is not None and network.layers[-1].kind == "sigmoid":
        return 0.5, "sigmoid output"
    return float(np.median(float_out)), "the float median, logit output"


def reference_accuracy(
    bundle: Any, network: Any = None, float_out: np.ndarray | None = None
) -> Accuracy | None:
    """Float vs firmware on ``reference.npz``; re-runs the emulator when the network is known.

    Firmware outputs are the reference ``out_<name>`` arrays. Float outputs: ``float_out`` if
    given, else ``float_<name>`` in the same file; truth labels, if stored, ``labels``. Only
    ordinary rows are compared (:func:`ordinary_rows`); the edge rows (an input NaN/Inf or
    outside the input type, kept for the bit-exact check) are counted in ``n_edge``, and rows
    labelled ``-1`` (synthetic rows) are left out when some rows carry a true class; the
    emulator re-run covers every row.
    """
    if REFERENCE not in bundle.manifest.files:
        return None
    with np.load(bundle.path / REFERENCE) as npz:
        arrays = {k: npz[k] for k in npz.files}
    outs = sorted(k for k in arrays if k.startswith("out_"))
    inputs = [arrays[k] for k in sorted(arrays) if k.startswith("in_")]
    if not outs:
        return None
    key = outs[0][4:]
    firmware = arrays[f"out_{key}"].reshape(len(arrays[f"out_{key}"]), -1).astype(np.float64)
    mismatches = None
    if network is not None and len(inputs) == 1:
        again = FirmwareEmulator(network).predict(inputs[0]).reshape(firmware.shape)
        mismatches = int(np.count_nonzero(np.any(again != firmware, axis=1)))
    if float_out is None:
        float_out = arrays.get(f"float_{key}")
    if float_out is None:
        return Accuracy(
            n=len(firmware),
            agreement=float("nan"),
            max_abs_diff=float("nan"),
            mean_abs_diff=float("nan"),
            emulator_mismatches=mismatches,
        )
    float_out = np.asarray(float_out, dtype=np.float64).reshape(firmware.shape)
    keep = np.all(np.isfinite(float_out), axis=1)
    if len(inputs) == 1:
        keep &= ordinary_rows(inputs[0].reshape(len(firmware), -1), network)
    n_edge = int(np.count_nonzero(~keep))
    labels = arrays.get("labels")
    if labels is not None:  # -1: a synthetic row (bit-exact check only), no truth to compare with
        labels = np.asarray(labels).reshape(-1)
        if len(labels) == len(keep) and (labels >= 0).any():
            keep &= labels >= 0
    if not keep.any():
        return Accuracy(
            n=0,
            agreement=float("nan"),
            max_abs_diff=float("nan"),
            mean_abs_diff=float("nan"),
            emulator_mismatches=mismatches,
            n_edge=n_edge,
        )
    threshold, why = 0.5, ""
    if firmware.shape[1] == 1:
        threshold, why = single_output_threshold(network, float_out[keep])
    acc = compare_outputs(
        float_out[keep],
        firmware[keep],
        None if labels is None else labels[keep],
        threshold=threshold,
        emulator_mismatches=mismatches,
    )
    out_t = network.layers[-1].result_t if network is not None else None
    return replace(
        acc,
        n_edge=n_edge,
        output_lsb=None if out_t is None else float(out_t.lsb),
        output_type=None if out_t is None else out_t.hls(),
        input_type=None if network is None else network.input_t.hls(),
        agreement_on=f"{acc.agreement_on} ({why})" if why else acc.agreement_on,
    )
