"""cuda-kernel runner: the hand-written tensor-core DeepSets kernel
(:mod:`trigkit.runtime.cuda.mma`).

For the DIPS-like b-tagger only (phi 6-64-64-64 with ReLUs, masked *sum*, rho 64-64-32-3, 15
tracks): at construction the torch module is run side by side on synthetic jets with a float64
model of the kernel's network - any other network (other widths, mean pooling, a missing
ReLU...) is refused with the difference found - and with the same model rounded where the kernel
rounds to fp16, refused when fp16 moves the probabilities by more than 1e-2. Arithmetic is fp16
with fp32 accumulation, so inputs whose magnitude exceeds the fp16 range (65504) are refused too.

Inputs are staged into one pinned host buffer of 196-byte jet records (fp16 tracks, uint8 mask),
results come back through pinned host memory. ``infer`` validates, checks the fp16 range and
converts (numpy / torch on the CPU: tens of microseconds at batch 1, milliseconds at 65536 jets);
latency-critical code writes fp16 tracks and mask bytes straight into :meth:`KernelRunner.staging`
and calls :meth:`KernelRunner.infer_staged`, which is the kernel path `trigkit bench gpu` times.
``mode``:

* ``"graph"`` (default): per batch size one CUDA graph, captured on first use; up to
  ``ZEROCOPY_MAX`` jets the kernel reads the staging buffers straight from mapped host memory
  (one kernel node, no memcpy - the batch-1 path); above that the batch is copied in 8 chunks
  in order on a copy stream while the kernels of chunks already landed run (copies overlap
  compute);
* ``"persistent"``: per batch size the kernel is launched once and polls a request counter in
  mapped host memory; a call writes the counter and spins until every jet's result carries it
  (no launch, no synchronize; one SM per 16 jets, up to 16 SMs, while active; batches up to 256).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np

from trigkit.compile.gpu_model import synthetic_objects
from trigkit.core.errors import TrigkitError
from trigkit.runtime.base import NanPolicy, Runner
from trigkit.runtime.cuda import mma_run as mr
from trigkit.runtime.cuda.graphs import capture, replayer
from trigkit.runtime.cuda.mma import RECORD_BYTES, dense_weights, reference_mma
from trigkit.runtime.cuda.pinned import mapped

if TYPE_CHECKING:
    from torch import nn

    from trigkit.bundle.manifest import TensorSpec

Mode = Literal["graph", "persistent"]
FP16_MAX = 65504.0
ZEROCOPY_MAX = 2048
PERSISTENT_MAX = 256
PIPELINE = "copy-stream"  # or "streams"; see trigkit.runtime.cuda.mma_run.pipelined_launch
STRUCTURE_TOL = 1e-5  # float64 model vs torch float32: the same network agrees to ~1e-7
FP16_TOL = 1e-2  # the fp16 agreement tolerance of `trigkit bench gpu` and fp16 bundles
SHAPES = {"tracks": (15, 6), "mask": (15,)}


def kernel_equivalence(module: nn.Module, n: int = 256) -> tuple[float, float]:
    """max |torch softmax - float64 model of the kernel's network| over ``n`` synthetic jets,
    without and with the kernel's fp16 roundings; raises ValueError for other layer shapes."""
    import torch

    dense_weights(module)  # other layer shapes -> ValueError before running anything
    tracks, mask = synthetic_objects(n, *SHAPES["tracks"], seed=7)
    with torch.no_grad():
        logits = module(torch.from_numpy(tracks), torch.from_numpy(mask)).double()
    want = torch.softmax(logits, dim=1).numpy()
    diffs = []
    for fp16 in (False, True):
        with np.errstate(over="ignore", invalid="ignore"):
            d = np.abs(reference_mma(module, tracks, mask, fp16=fp16) - want).max()
        diffs.append(float(d) if np.isfinite(d) else float("inf"))
    return diffs[0], diffs[1]


def check_kernel_model(module: nn.Module, inputs: Sequence[TensorSpec], label: str) -> None:
    names = [s.name for s in inputs]
    if names != list(SHAPES):
        raise TrigkitError(
            f"{label}: the kernel takes inputs {list(SHAPES)}, the model has {names}"
        )
    for s in inputs:
        if tuple(s.shape[1:]) != SHAPES[s.name] or s.dtype != "float32":
            raise TrigkitError(
                f"{label}: input '{s.name}' must be float32 [batch, "
                f"{', '.join(map(str, SHAPES[s.name]))}], the model has {s.dtype} {list(s.shape)}"
            )
    module = module.eval().float()
    try:
        exact, rounded = kernel_equivalence(module)
    except ValueError as exc:  # other layer shapes
        raise TrigkitError(
            f"{label}: {exc}; use backend 'tensorrt', 'onnxruntime' or 'torch'"
        ) from None
    if not exact <= STRUCTURE_TOL:
        raise TrigkitError(
            f"{label}: the model is not the network the kernel computes (phi Linear+ReLU "
            f"x3, masked sum, rho 64-64-32-3): outputs differ by {exact:.3g} > "
            f"{STRUCTURE_TOL:g} on synthetic jets in float64 (mean pooling or another "
            "activation?); use backend 'tensorrt', 'onnxruntime' or 'torch'"
        )
    if not rounded <= FP16_TOL:
        raise TrigkitError(
            f"{label}: the model is the kernel's network, but fp16 arithmetic moves its "
            f"probabilities by {rounded:.3g} > {FP16_TOL:g} on synthetic jets (large "
            "weights or activations?); use an fp32 backend ('torch', 'onnxruntime')"
        )


class KernelRunner(Runner):
    backend = "cuda-kernel"

    def __init__(
        self,
        module: nn.Module,
        inputs: Sequence[TensorSpec],
        *,
        mode: Mode = "graph",
        max_batch: int = 65536,
        nan_policy: NanPolicy = "reject",
        label: str = "",
    ) -> None:
        super().__init__(inputs, nan_policy=nan_policy, label=label or "cuda-kernel")
        if mode not in ("graph", "persistent"):
            raise TrigkitError(f"{self.label}: mode '{mode}' unknown; valid: graph, persistent")
        limit = PERSISTENT_MAX if mode == "persistent" else 1 << 24
        if not 1 <= max_batch <= limit:
            raise TrigkitError(
                f"{self.label}: max_batch {max_batch} outside 1..{limit} for mode '{mode}'"
            )
        check_kernel_model(module, inputs, self.label)
        self.module, self.mode, self.max_batch = module, mode, max_batch
        self._state: _Device | None = None

    def _activate_impl(self) -> None:
        self._state = _Device(self.module, self.max_batch, self.label)

    def _deactivate_impl(self) -> None:
        if self._state is not None:
            self._state.close()
        self._state = None

    def _infer_impl(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        tracks, mask = feed["tracks"], feed["mask"]
        n = len(tracks)
        if n > self.max_batch:
            raise TrigkitError(
                f"{self.label}: batch {n} > max_batch {self.max_batch} given at construction"
            )
        if n == 0:
            return np.zeros((0, 3), dtype=np.float32)
        if (
            tracks.max() > FP16_MAX or tracks.min() < -FP16_MAX
        ):  # NaN compares False: the NaN policy rules
            big = np.count_nonzero(np.isfinite(tracks) & (np.abs(tracks) > FP16_MAX))
            if big:
                raise TrigkitError(
                    f"{self.label}: {big} values of input 'tracks' beyond the fp16 range (|x| > "
                    f"{FP16_MAX:g}); this backend computes in fp16 - use 'torch' or 'onnxruntime'"
                )
        assert self._state is not None
        self._state.stage(tracks, mask, n)
        return self._state.run(n, self.mode)

    def staging(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Numpy views of the pinned jet records the kernel reads for a batch of ``n``: fp16 tracks
        [n, 15, 6] and uint8 mask [n, 15] (1 = real track). Write a batch there (e.g. straight
        from the unpacker) and call :meth:`infer_staged` - no validation, no conversion, no copy."""
        self._check_batch(n)
        assert self._state is not None
        return mr.record_views(self._state.rec.numpy()[:n])

    def infer_staged(self, n: int) -> np.ndarray:
        """Probabilities [n, 3] of the batch already written into :meth:`staging` views."""
        self._check_batch(n)
        assert self._state is not None
        return self._state.run(n, self.mode)

    def _check_batch(self, n: int) -> None:
        self.require_active()
        if not 1 <= n <= self.max_batch:
            raise TrigkitError(f"{self.label}: batch {n} outside 1..max_batch {self.max_batch}")


class _Device:
    """Staging buffers, compiled kernels, captured graphs and persistent servers of one runner."""

    def __init__(self, module: nn.Module, max_batch: int, label: str) -> None:
        import torch

        if not torch.cuda.is_available():
            raise TrigkitError(
                f"{label}: needs a CUDA GPU (compute capability >= 8.0); torch sees none"
            )
        cap = torch.cuda.get_device_capability(0)
        if cap < (8, 0):
            raise TrigkitError(
                f"{label}: needs compute capability >= 8.0 (mma.sync fp16), "
                f"this GPU has {cap[0]}.{cap[1]}"
            )
        try:
            import cupy  # noqa: F401
        except ImportError as exc:
            raise TrigkitError(
                f"{label}: needs cupy (pip install cupy-cuda12x or cupy-cuda13x): {exc}"
            ) from None
        self.k = mr.MmaKernels(module)
        self.rec = torch.zeros((max_batch, RECORD_BYTES), dtype=torch.uint8).pin_memory()
        self.out = torch.zeros((max_batch, 4)).pin_memory()
        self.graphs: dict[int, Callable[[], np.ndarray]] = {}  # batch size -> replay + synchronize
        self.server: tuple[int, object] | None = None

    def stage(self, tracks: np.ndarray, mask: np.ndarray, n: int) -> None:
        mr.fill_records(self.rec.numpy()[:n], tracks, mask)

    def run(self, n: int, mode: Mode) -> np.ndarray:
        if mode == "persistent":
            return self._serve(n)
        if n not in self.graphs:
            self.graphs[n] = self._capture(n)
        return self.graphs[n]().copy()

    def _capture(self, n: int) -> Callable[[], np.ndarray]:
        import torch

        res = torch.zeros((n, 3)).pin_memory()
        if n <= ZEROCOPY_MAX:
            rec, out = mapped(self.rec[:n]), mapped(res)

            def launch() -> None:
                self.k.launch_records(self.k.mapped, n, rec, out)
        else:
            launch = mr.pipelined_launch(self.k, self.rec[:n], res, mr.chunk_size(n), PIPELINE)
        graph, _ = capture(launch, cupy=True)
        return replayer(graph, res)

    def _serve(self, n: int) -> np.ndarray:
        if self.server is None or self.server[0] != n:
            self._stop()
            self.server = (n, mr.Server(self.k, self.rec[:n], self.out[:n]))
        return self.server[1].request().copy()  # type: ignore[attr-defined]

    def _stop(self) -> None:
        if self.server is not None:
            self.server[1].stop()  # type: ignore[attr-defined]
            self.server = None

    def close(self) -> None:
        self._stop()
        self.graphs.clear()
