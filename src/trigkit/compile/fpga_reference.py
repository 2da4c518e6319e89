"""The reference set of an FPGA bundle: which inputs, and what the float model says on them.

``reference.npz`` holds ``in_<input>`` (rows), ``out_scores`` (the C simulation's outputs, bit
for bit the firmware's), and, when a float model is known, ``float_scores``: the float torch
model's outputs on the same preprocessed rows, in the firmware's output space (softmax
probabilities when the firmware ends in a softmax, logits otherwise, so that
``|float - firmware|`` compares like with like; the top class is the same either way).
With labelled calibration jets, ``labels`` holds their true class and ``-1`` for the synthetic
rows (random, extremes, NaN/Inf) that exist only for the bit-exact check; ``trigkit report``
computes float vs firmware accuracy on the labelled rows. A model trained elsewhere without
labels gets its calibration rows first instead (``n_calibration``), unlabelled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from trigkit.core.errors import TrigkitError
from trigkit.fixedpoint.random_net import edge_inputs

if TYPE_CHECKING:
    from torch import nn

    from trigkit.fixedpoint.network import FirmwareNetwork

NO_LABEL = -1


@dataclass(frozen=True)
class ReferenceSet:
    """Reference rows and what is known about them (``labels``: -1 on synthetic rows)."""

    x: np.ndarray
    labels: np.ndarray | None = None
    float_out: np.ndarray | None = None
    n_calibration: int = 0  # unlabelled calibration rows first (a model trained elsewhere)

    def arrays(self, output_name: str) -> dict[str, np.ndarray]:
        """Extra arrays for ``reference.npz`` (``float_<output>``, ``labels``)."""
        out: dict[str, np.ndarray] = {}
        if self.float_out is not None:
            out[f"float_{output_name}"] = self.float_out
        if self.labels is not None:
            out["labels"] = self.labels
        return out

    @property
    def n_labelled(self) -> int:
        return 0 if self.labels is None else int(np.count_nonzero(self.labels >= 0))


def reference_set(
    network: FirmwareNetwork,
    n_synthetic: int,
    *,
    seed: int = 0,
    rows: np.ndarray | None = None,
    labels: np.ndarray | None = None,
    n_labelled: int = 0,
    n_unlabelled: int = 0,
) -> ReferenceSet:
    """Up to ``n_labelled`` labelled ``rows`` (first), then ``n_synthetic`` synthetic rows.

    Without labels, up to ``n_unlabelled`` of ``rows`` (an even spread) come first instead:
    ordinary inputs, so a report compares float and firmware on the inputs the model is
    calibrated for, not only on synthetic rows (mostly edge values for a wide input)."""
    synthetic = edge_inputs(network, n_synthetic, seed=seed)
    if labels is None and rows is not None and n_unlabelled > 0:
        rows = np.asarray(rows, dtype=np.float64)
        if rows.ndim != 2 or rows.shape[1] != network.n_inputs:
            raise TrigkitError(
                f"calibration data: expected rows [n, {network.n_inputs}], got {rows.shape}"
            )
        if len(rows) > n_unlabelled:
            rng = np.random.default_rng(seed)
            rows = rows[np.sort(rng.choice(len(rows), n_unlabelled, replace=False))]
        return ReferenceSet(np.concatenate([rows, synthetic]), n_calibration=len(rows))
    if labels is None or rows is None or n_labelled == 0:
        return ReferenceSet(synthetic)
    rows = np.asarray(rows)
    lab = np.asarray(labels).reshape(-1)
    if rows.ndim != 2 or rows.shape[1] != network.n_inputs or len(lab) != len(rows):
        raise TrigkitError(
            f"labelled calibration data: expected rows [n, {network.n_inputs}] and n labels, "
            f"got {rows.shape} and {lab.shape}"
        )
    if len(lab) and (lab.min() < 0 or lab.max() >= network.n_outputs):
        raise TrigkitError(
            f"labels must be class indices in 0..{network.n_outputs - 1}, got "
            f"{lab.min()}..{lab.max()}"
        )
    if len(rows) > n_labelled:  # an even spread, not the first file's jets only
        keep = np.sort(np.random.default_rng(seed).choice(len(rows), n_labelled, replace=False))
        rows, lab = rows[keep], lab[keep]
    x = np.concatenate([rows.astype(np.float64), synthetic])
    y = np.concatenate([lab.astype(np.int64), np.full(len(synthetic), NO_LABEL, dtype=np.int64)])
    return ReferenceSet(x, y)


def float_outputs(
    module: nn.Module, x: np.ndarray, softmax: bool, batch: int = 65_536
) -> np.ndarray:
    """The float model's outputs on preprocessed rows ``x`` (float64; NaN rows give NaN)."""
    import torch

    module.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            z = module(
                torch.from_numpy(np.ascontiguousarray(x[i : i + batch], dtype=np.float32))
            ).double()
            out.append(torch.softmax(z, dim=1) if softmax else z)
    return torch.cat(out).numpy() if out else np.zeros((0, 0))


def with_float_outputs(
    ref: ReferenceSet, module: nn.Module, network: FirmwareNetwork
) -> ReferenceSet:
    """``ref`` plus the float model's outputs in the firmware's output space."""
    softmax = network.layers[-1].kind == "softmax"
    out = float_outputs(module, ref.x, softmax)
    return ReferenceSet(ref.x, ref.labels, out, ref.n_calibration)
