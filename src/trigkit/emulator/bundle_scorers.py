"""Model inputs -> probabilities for a tagger bundle: the one place every score source ends.

Trigkit's own taggers (:mod:`.taggers`: features from trigkit's extractor) and taggers trained
elsewhere (:mod:`.mapped_taggers`: features from a feature map) differ only in how they build
the input rows; running the bundle is shared:

* :class:`GpuScorer`: a gpu bundle through a runtime backend (``trigkit.runtime.load_runner``),
  activated on first use, fed in chunks of the bundle's largest batch (its TensorRT profile);
* :class:`FpgaScorer`: the bit-exact firmware emulation; a network without a softmax / sigmoid
  output gets a float64 softmax over its exact outputs, so the score is a probability.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_MAX_BATCH = 65536


@dataclass
class GpuScorer:
    """Probabilities of a gpu bundle, chunked by ``max_batch``; ``runner_options`` go to
    ``load_runner`` (e.g. ``nan_policy="pass"``)."""

    bundle: Path
    backend: str = "onnxruntime"
    max_batch: int = DEFAULT_MAX_BATCH
    runner_options: dict[str, Any] = dc_field(default_factory=dict)
    _runner: Any = dc_field(default=None, repr=False)

    @classmethod
    def from_info(
        cls, bundle: Path, info: dict[str, Any], backend: str, **runner_options: Any
    ) -> GpuScorer:
        """The scorer of a bundle whose ``target_info`` is ``info`` (its batch profile)."""
        profile = info.get("batch_profile") or (0, 0, DEFAULT_MAX_BATCH)
        return cls(bundle, backend, int(profile[2]), dict(runner_options))

    def runner(self) -> Any:  # noqa: ANN401 - a trigkit.runtime Runner, activated
        if self._runner is None:
            from trigkit.runtime import load_runner

            self._runner = load_runner(
                self.bundle, backend=self.backend, **self.runner_options
            ).activate()
        return self._runner

    def probs(self, feeds: dict[str, np.ndarray], n_out: int) -> np.ndarray:
        """``[n_rows, n_out]`` probabilities of the rows in ``feeds`` (one array per input)."""
        n = len(next(iter(feeds.values()))) if feeds else 0
        step = max(1, self.max_batch)
        parts = [
            np.asarray(
                self.runner().infer(
                    {k: v[i : i + step].astype(np.float32) for k, v in feeds.items()}
                )
            )
            for i in range(0, n, step)
        ]
        return np.concatenate(parts) if parts else np.zeros((0, n_out), np.float32)


@dataclass(frozen=True)
class FpgaScorer:
    """Probabilities from the bit-exact emulation of an fpga bundle's firmware."""

    emulator: Any  # trigkit.firmware.emulate.FirmwareEmulator

    @classmethod
    def from_bundle(cls, bundle: Path) -> FpgaScorer:
        from trigkit.firmware.emulate import FirmwareEmulator

        return cls(FirmwareEmulator.from_bundle(bundle))

    @property
    def network(self) -> Any:  # noqa: ANN401 - FirmwareNetwork
        return self.emulator.network

    def probs(self, x: np.ndarray) -> np.ndarray:
        """``[n_rows, n_outputs]``: the firmware's outputs, softmax-ed if it has no head."""
        net = self.network
        y = self.emulator.predict(x) if len(x) else np.zeros((0, net.n_outputs))
        if net.layers[-1].kind not in ("softmax", "sigmoid") and y.shape[1] > 1:
            z = np.exp(y - y.max(axis=1, keepdims=True))
            y = z / z.sum(axis=1, keepdims=True)
        return y
