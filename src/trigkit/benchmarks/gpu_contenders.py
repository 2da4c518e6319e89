"""The contenders of `trigkit bench gpu`: one callable per backend/precision, all end to end.

CUDA contenders take their input already in pinned (page-locked) host memory - where a readout
would DMA it - and return the probabilities in pinned host memory, so each call includes the
host->device copy, the network and the device->host copy, then synchronizes:

* ``torch-eager-fp32``: eager kernels, async copies on a side stream;
* ``torch-graph-{fp32,fp16,bf16}``: forward pass captured as a CUDA graph per batch size;
* ``torch-graph-io-fp16-packed``: the copies captured *inside* the graph (one launch per call)
  and packed inputs (fp16 tracks + uint8 mask: 195 instead of 420 bytes per jet);
* ``pipeline-fp16-packed``: large batches split in chunks over 4 streams so the copies of one
  chunk overlap the compute of another (throughput mode);
* ``torch-compile-graph-io-fp16-packed``: as graph-io, the network compiled by torch.compile
  (inductor fuses bias/ReLU/mask/sum kernels) - small batches only (one compile per size);
* ``pipeline-compiled-fp16-packed``: the pipeline with the torch.compile'd network;
* ``fused-kernel-graph-io-fp32``: one hand-written CUDA kernel for the whole network
  (:mod:`trigkit.benchmarks.gpu_fused`, needs cupy), copies in the same graph;
* ``fused-zerocopy-*``, ``tc-zerocopy-*``, ``tc-pipeline-*``: see
  :mod:`trigkit.benchmarks.gpu_zerocopy` (no memcpy at all / tensor-core kernel pipelined);
* ``mma-*``: the register-resident tensor-core kernel (:mod:`trigkit.runtime.cuda.mma`,
  contenders in :mod:`trigkit.benchmarks.gpu_mma`) - zero-copy graph, graph with copies, chunked
  copy/compute pipelines, persistent kernel; the fastest rows (see ``GOAL_*`` in
  :mod:`trigkit.benchmarks.gpu`);
* CPU: ``onnxruntime-cpu-fp32`` (1 thread, no spinning) and ``torch-cpu-fp32``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from trigkit.compile.onnx_export import make_head
from trigkit.runtime.cuda.graphs import capture, replayer
from trigkit.runtime.cuda.pinned import pinned


@dataclass
class Contender:
    name: str
    precision: str
    prepare: Callable[[int], Callable[[], np.ndarray]]  # batch -> zero-arg call returning probs
    min_batch: int = 1  # smallest batch it can run (the agreement check uses 256 rows)
    max_batch: int = 1 << 30
    note: str = ""
    sweep_min_batch: int = 1  # smallest batch worth timing


class PackedHead(nn.Module):
    """fp16 tracks + uint8 mask in, float32 probabilities out (cast inside the graph)."""

    def __init__(self, head: nn.Module) -> None:
        super().__init__()
        self.head = head

    def forward(self, tracks: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.head(tracks, mask.to(tracks.dtype))


def _heads(
    module: nn.Module, example: tuple[torch.Tensor, ...], device: torch.device
) -> dict[str, nn.Module]:
    return {
        "fp32": make_head(module, example).to(device),
        "fp16": make_head(module, example, torch.float16).to(device),
        "bf16": make_head(module, example, torch.bfloat16).to(device),
    }


def _pinned_all(arrays: dict[str, np.ndarray], n: int, packed: bool) -> list[torch.Tensor]:
    out = []
    for k, v in arrays.items():
        a = v[:n]
        if packed:
            a = a.astype(np.uint8) if k == "mask" else a.astype(np.float16)
        out.append(pinned(a))
    return out


def cuda_contenders(module: nn.Module, data: dict[str, np.ndarray]) -> list[Contender]:
    dev = torch.device("cuda")
    example = tuple(torch.from_numpy(v[:1]) for v in data.values())
    heads = _heads(module, example, dev)
    stream = torch.cuda.Stream()
    out: list[Contender] = []

    def eager(n: int) -> Callable[[], np.ndarray]:
        host = _pinned_all(data, n, False)
        res = torch.empty((n, heads["fp32"](*[t[:1].to(dev) for t in host]).shape[1])).pin_memory()

        def call() -> np.ndarray:
            with torch.cuda.stream(stream), torch.no_grad():
                d = [t.to(dev, non_blocking=True) for t in host]
                res.copy_(heads["fp32"](*d), non_blocking=True)
            stream.synchronize()
            return res.numpy()

        return call

    out.append(Contender("torch-eager-fp32", "fp32", eager))
    for prec in ("fp32", "fp16", "bf16"):
        out.append(
            Contender(
                f"torch-graph-{prec}", prec, _graph_factory(heads[prec], data, stream, False, False)
            )
        )
    packed = PackedHead(heads["fp16"])
    out.append(
        Contender(
            "torch-graph-io-fp16-packed",
            "fp16",
            _graph_factory(packed, data, stream, True, True),
            note="H2D + forward + D2H captured in one CUDA graph; fp16 tracks, uint8 mask",
        )
    )
    out.append(
        Contender(
            "pipeline-fp16-packed",
            "fp16",
            _pipeline_factory(packed, data),
            sweep_min_batch=4096,
            note="4 streams, 4 chunks; copies overlap compute; fp16 tracks, uint8 mask",
        )
    )
    compiled = torch.compile(packed)
    out.append(
        Contender(
            "torch-compile-graph-io-fp16-packed",
            "fp16",
            _graph_factory(compiled, data, stream, True, True),
            max_batch=256,
            note="torch.compile (inductor, fused kernels) inside the io CUDA graph",
        )
    )
    compiled_big = torch.compile(PackedHead(heads["fp16"]))
    out.append(
        Contender(
            "pipeline-compiled-fp16-packed",
            "fp16",
            _pipeline_factory(compiled_big, data),
            sweep_min_batch=65536,
            note="pipeline-fp16-packed with the network compiled by torch.compile",
        )
    )
    try:
        from trigkit.benchmarks.gpu_fused import fused_factory

        out.append(
            Contender(
                "fused-kernel-graph-io-fp32",
                "fp32",
                fused_factory(module, data, stream),
                max_batch=4096,
                note="one hand-fused CUDA kernel (cupy/NVRTC) per call, copies in the graph",
            )
        )
    except Exception as exc:  # noqa: BLE001 - cupy absent or another architecture
        import logging

        logging.getLogger(__name__).warning("no fused-kernel contender: %s", exc)
    out += _zerocopy_contenders(module, data)
    out += _mma_contenders(module, data)
    return out


def _mma_contenders(module: nn.Module, data: dict[str, np.ndarray]) -> list[Contender]:
    try:
        from trigkit.benchmarks.gpu_mma import (
            persistent_factory,
            pipeline_factory,
            zerocopy_factory,
        )
        from trigkit.runtime.cuda.mma_run import CHUNKS, MmaKernels

        k = MmaKernels(module)
        kernel = "register-resident tensor-core kernel"
        return [
            Contender(
                "mma-zerocopy-graph-fp16",
                "fp16",
                zerocopy_factory(k, data),
                note=f"{kernel}, reads/writes mapped host memory, 1-node graph",
            ),
            Contender(
                "mma-graph-io-fp16",
                "fp16",
                pipeline_factory(k, data, None),
                note=f"{kernel}, H2D + kernel + D2H in one CUDA graph",
            ),
            Contender(
                "mma-pipeline-graph-fp16",
                "fp16",
                pipeline_factory(k, data, CHUNKS),
                sweep_min_batch=4096,
                note="8 chunks: H2D in order on a copy stream, kernel + D2H on "
                "2 compute streams; one graph",
            ),
            Contender(
                "mma-pipeline-streams-graph-fp16",
                "fp16",
                pipeline_factory(k, data, CHUNKS, "streams"),
                sweep_min_batch=4096,
                note="8 chunks, H2D + kernel + D2H of chunk j on stream j mod 4; one graph",
            ),
            Contender(
                "mma-persistent-fp16",
                "fp16",
                persistent_factory(k, data),
                max_batch=256,
                note="launched once; polls a mapped request counter; 16-byte result+counter stores",
            ),
        ]
    except Exception as exc:  # noqa: BLE001 - cupy absent, no sm_80+ GPU
        import logging

        logging.getLogger(__name__).warning("no mma contenders: %s", exc)
        return []


def _zerocopy_contenders(module: nn.Module, data: dict[str, np.ndarray]) -> list[Contender]:
    try:
        from trigkit.benchmarks import gpu_zerocopy as zc
        from trigkit.benchmarks.gpu_persistent import persistent_factory

        return [
            Contender(
                "fused-zerocopy-kernel-fp32",
                "fp32",
                zc.zerocopy_fused_factory(module, data, False),
                max_batch=4096,
                note="fused kernel reads/writes mapped pinned host memory; one launch",
            ),
            Contender(
                "fused-zerocopy-graph-fp32",
                "fp32",
                zc.zerocopy_fused_factory(module, data, True),
                max_batch=4096,
                note="as fused-zerocopy-kernel, launched as a 1-node CUDA graph",
            ),
            Contender(
                "tc-zerocopy-fp16-packed",
                "fp16",
                zc.tc_zerocopy_factory(module, data),
                note="tensor-core fused kernel, fp16+uint8 read from mapped "
                "host memory, one launch",
            ),
            Contender(
                "tc-pipeline-fp16-packed",
                "fp16",
                zc.tc_pipeline_factory(module, data),
                sweep_min_batch=4096,
                note="tensor-core fused kernel, 8 chunks over 4 streams",
            ),
            Contender(
                "fused-persistent-fp32",
                "fp32",
                persistent_factory(module, data),
                max_batch=256,
                note="kernel launched once, spins on a mapped host flag; no launch per call",
            ),
        ]
    except Exception as exc:  # noqa: BLE001 - cupy absent or another architecture
        import logging

        logging.getLogger(__name__).warning("no zero-copy contenders: %s", exc)
        return []


def _capture(
    head: nn.Module,
    static: list[torch.Tensor],
    stream: torch.cuda.Stream,
    host_in: list[torch.Tensor] | None = None,
    host_out: torch.Tensor | None = None,
) -> tuple[torch.cuda.CUDAGraph, torch.Tensor]:
    """``head(*static)`` as a graph; with ``host_in``/``host_out`` the copies from/to pinned host
    buffers are captured with it."""

    def body() -> torch.Tensor:
        if host_in is not None:
            for d, h in zip(static, host_in, strict=True):
                d.copy_(h, non_blocking=True)
        result = head(*static)
        if host_out is not None:
            host_out.copy_(result, non_blocking=True)
        return result

    return capture(body, stream, warmup=3)


def _graph_factory(
    head: nn.Module,
    data: dict[str, np.ndarray],
    stream: torch.cuda.Stream,
    packed: bool,
    io_in_graph: bool,
) -> Callable[[int], Callable[[], np.ndarray]]:
    def prepare(n: int) -> Callable[[], np.ndarray]:
        host = _pinned_all(data, n, packed)
        static = [t.to("cuda") for t in host]
        with torch.no_grad():
            n_cls = head(*[s[:1] for s in static]).shape[1]
        res = torch.empty((n, n_cls)).pin_memory()
        if io_in_graph:
            graph, _ = _capture(head, static, stream, host, res)
            return replayer(graph, res)
        graph, result = _capture(head, static, stream)

        def call() -> np.ndarray:
            with torch.cuda.stream(stream):
                for d, h in zip(static, host, strict=True):
                    d.copy_(h, non_blocking=True)
                graph.replay()
                res.copy_(result, non_blocking=True)
            stream.synchronize()
            return res.numpy()

        return call

    return prepare


def _pipeline_factory(
    head: nn.Module, data: dict[str, np.ndarray], n_streams: int = 4, n_chunks: int = 4
) -> Callable[[int], Callable[[], np.ndarray]]:
    def prepare(n: int) -> Callable[[], np.ndarray]:
        chunk = -(-n // n_chunks)
        host = _pinned_all(data, n, True)
        streams = [torch.cuda.Stream() for _ in range(n_streams)]
        graphs = []
        for s in streams:
            static = [t[:chunk].to("cuda") for t in host]
            g, r = _capture(head, static, s)
            graphs.append((static, g, r))
        res = torch.empty((n, graphs[0][2].shape[1])).pin_memory()

        def call() -> np.ndarray:
            for j in range(n_chunks):
                lo, hi = j * chunk, min(n, (j + 1) * chunk)
                if lo >= hi:
                    break
                static, g, r = graphs[j % n_streams]
                with torch.cuda.stream(streams[j % n_streams]):
                    for d, h in zip(static, host, strict=True):
                        d[: hi - lo].copy_(h[lo:hi], non_blocking=True)
                    g.replay()
                    res[lo:hi].copy_(r[: hi - lo], non_blocking=True)
            for s in streams:
                s.synchronize()
            return res.numpy()

        return call

    return prepare


def cpu_contenders(
    module: nn.Module, data: dict[str, np.ndarray], onnx_path: object, specs: list
) -> list[Contender]:
    from trigkit.runtime.backends.onnxrt import OnnxRuntimeRunner
    from trigkit.runtime.backends.torch import TorchRunner

    torch_runner = TorchRunner(module, specs, device="cpu").activate()

    def via(runner: object) -> Callable[[int], Callable[[], np.ndarray]]:
        def prepare(n: int) -> Callable[[], np.ndarray]:
            feed = {k: v[:n] for k, v in data.items()}
            return lambda: runner.infer(feed)  # type: ignore[attr-defined]

        return prepare

    out = [Contender("torch-cpu-fp32", "fp32", via(torch_runner), max_batch=4096)]
    if onnx_path is not None:
        ort_runner = OnnxRuntimeRunner(
            onnx_path, specs, intra_op_threads=1, allow_spinning=False
        ).activate()  # type: ignore[arg-type]
        out.insert(
            0,
            Contender(
                "onnxruntime-cpu-fp32",
                "fp32",
                via(ort_runner),
                max_batch=4096,
                note="1 intra-op thread, spinning off",
            ),
        )
    return out


class _DipsLike(nn.Module):
    """Fallback anchor (same as trigkit.models' btag-deepsets): phi 6-64-64-64, sum,
    rho 64-64-32-3."""

    def __init__(self) -> None:
        super().__init__()
        self.phi = nn.Sequential(
            nn.Linear(6, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU()
        )
        self.rho = nn.Sequential(
            nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 3)
        )

    def forward(self, tracks: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.rho((self.phi(tracks) * mask.unsqueeze(-1)).sum(dim=1))


def local_dips() -> object:
    from trigkit.compile.gpu_model import GpuModel

    torch.manual_seed(0)
    return GpuModel(
        _DipsLike().eval(),
        "btag-deepsets (local)",
        ("tracks", "mask"),
        {"tracks": (15, 6), "mask": (15,)},
        ("b", "c", "light"),
    )
