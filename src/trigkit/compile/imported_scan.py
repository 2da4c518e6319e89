"""Width scan of a model trained elsewhere: what each fixed-point width costs on user data.

For each width the imported graph is turned into a :class:`FirmwareNetwork`
(:func:`trigkit.importers.firmware.to_firmware_network`, ranges from the calibration rows), run
through the bit-exact numba emulation on the same rows, and compared with the float reference
of the original graph: top-class agreement, max abs difference and, with labels, the accuracy
of both. ``trigkit compile --target fpga --scan-bits 4..12`` prints it and stores it in the
bundle's ``target_info.imported.width_scan``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from trigkit.importers import ImportedModel, forward
from trigkit.importers.firmware import FirmwareOptions, to_firmware_network
from trigkit.importers.set_firmware import flat_rows


@dataclass(frozen=True)
class WidthCost:
    bits: int
    agreement: float  # same top class as the float model
    max_abs_diff: float
    float_accuracy: float | None
    firmware_accuracy: float | None

    def to_dict(self) -> dict[str, float | int | None]:
        return asdict(self)


def scan_widths(
    model: ImportedModel, rows: np.ndarray, labels: np.ndarray | None, widths: tuple[int, ...]
) -> list[WidthCost]:
    """One :class:`WidthCost` per width, on ``rows`` (which also set the ranges)."""
    from trigkit.firmware.emulate import FirmwareEmulator

    ref = forward(model, rows)
    out = []
    for bits in widths:
        net = to_firmware_network(model, rows, FirmwareOptions(bits=bits))
        y = FirmwareEmulator(net).predict(flat_rows(model, rows))
        acc = (lambda p: float(np.mean(p.argmax(1) == labels))) if labels is not None else None
        out.append(
            WidthCost(
                bits,
                float(np.mean(y.argmax(1) == ref.argmax(1))),
                float(np.max(np.abs(y - ref))),
                acc(ref) if acc else None,
                acc(y) if acc else None,
            )
        )
    return out
