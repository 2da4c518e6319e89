"""Host side of the register-resident tensor-core kernel of :mod:`trigkit.runtime.cuda.mma`:
launch geometry, jet records in pinned memory, the chunked copy/compute pipeline and the
persistent server - used by the ``cuda-kernel`` runtime backend and by the ``mma-*`` contenders
of `trigkit bench gpu` (:mod:`trigkit.benchmarks.gpu_mma`). Graphs are captured by
:mod:`trigkit.runtime.cuda.graphs`.

* zero-copy: the kernel reads fp16 tracks + uint8 mask straight from mapped pinned host memory
  and writes the probabilities there (:meth:`MmaKernels.launch_records` on ``mapped``);
* :func:`pipelined_launch`: the batch split in chunks, copied in order on one copy stream while
  the kernels and D2H copies of chunks already landed run on two compute streams (one fork/join,
  capturable as one CUDA graph);
* :class:`Server`: the kernel launched once per batch size, polling a request counter in mapped
  host memory (one block per 16 jets, up to 32); a call writes the counter and spins until every
  jet's 16-byte result carries it - no launch and no synchronize per call.

All need cupy (NVRTC) and an sm_80+ GPU.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from trigkit.runtime.cuda.mma import (
    MASK_OFFSET,
    MMA_KERNEL,
    PARAM_WORDS,
    RECORD_BYTES,
    WARPS,
    group_size,
    launch_grid,
    pack_params,
)
from trigkit.runtime.cuda.pinned import mapped

__all__ = [
    "MmaKernels",
    "Server",
    "chunk_size",
    "fill_records",
    "pipelined_launch",
    "record_views",
]

IDLE_NS = 500_000_000
HOST_TIMEOUT_S = 1.0
SMEM_PER_SM = 227 * 1024
CHUNKS = 8
MIN_CHUNK = 4096
SERVER_MAX_BLOCKS = 32
SERVER_JETS_PER_BLOCK = 16
EXITED = -2
PIPELINE_DESIGNS = ("copy-stream", "streams")


class MmaKernels:
    """The compiled entry points, the parameter block on the device and the launch geometry."""

    def __init__(self, module: nn.Module) -> None:
        import cupy

        self.one, self.mapped, self.serve = (
            cupy.RawKernel(MMA_KERNEL, name, options=("-std=c++17",))
            for name in ("dips_mma", "dips_mma_mapped", "dips_mma_serve")
        )
        self.params = cupy.asarray(pack_params(module))
        regs = -(-int(self.one.num_regs) // 8) * 8
        per_sm = min(
            65536 // (regs * 32 * WARPS), SMEM_PER_SM // (PARAM_WORDS * 4 + 1024), 64 // WARPS
        )
        n_sm = torch.cuda.get_device_properties(0).multi_processor_count
        self.max_blocks = n_sm * max(1, per_sm)

    def launch(
        self, kernel: object, n: int, x: object, m: object, out: object, xs: int = 90, ms: int = 15
    ) -> None:
        """One launch on cupy's current stream over ``n`` jets (device or mapped pointers); jet j
        at ``x + j*xs`` halfs and ``m + j*ms`` bytes (planar arrays by default)."""
        group = group_size(n, self.max_blocks * WARPS)
        grid = launch_grid(n, group, self.max_blocks)
        args = (self.params, x, m, out, np.int32(n), np.int32(group), np.int32(xs), np.int32(ms))
        kernel((grid,), (32 * WARPS,), args)  # type: ignore[operator]

    def launch_records(self, kernel: object, n: int, rec: object, out: object) -> None:
        """As :meth:`launch` over a cupy uint8 [n, 196] view of jet records."""
        self.launch(kernel, n, rec, rec[:, MASK_OFFSET:], out, RECORD_BYTES // 2, RECORD_BYTES)  # type: ignore[index]


TORCH_CONVERT_MIN = (
    64  # from this many jets torch's vectorised fp32->fp16 beats numpy's (11x at 65536)
)


def fill_records(rec: np.ndarray, tracks: np.ndarray, mask: np.ndarray) -> None:
    """Write float tracks [n,15,6] / mask [n,15] into uint8 jet records ``rec`` [n, 196]."""
    n = len(tracks)
    if n >= TORCH_CONVERT_MIN:
        dst = torch.from_numpy(rec)[:, :MASK_OFFSET].view(torch.float16)
        dst.copy_(torch.from_numpy(np.ascontiguousarray(tracks, dtype=np.float32).reshape(n, 90)))
    else:
        np.copyto(rec[:, :MASK_OFFSET].view(np.float16), tracks.reshape(n, 90), casting="same_kind")
    np.not_equal(mask, 0, out=rec[:, MASK_OFFSET : MASK_OFFSET + 15].view(bool))


def record_views(rec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """fp16 tracks [n,15,6] and uint8 mask [n,15] views into jet records ``rec`` [n, 196]."""
    n = len(rec)
    return rec[:, :MASK_OFFSET].view(np.float16).reshape(n, 15, 6), rec[
        :, MASK_OFFSET : MASK_OFFSET + 15
    ]


def chunk_size(n: int, chunks: int = CHUNKS) -> int:
    """Jets per pipeline chunk: ``n / chunks``, but no chunk under ``MIN_CHUNK`` jets."""
    return int(max(min(n, MIN_CHUNK), -(-n // chunks)))


def pipelined_launch(
    k: MmaKernels, rec: torch.Tensor, res: torch.Tensor, chunk: int, design: str = "copy-stream"
) -> Callable[[], None]:
    """Enqueue pinned jet records ``rec`` [n, 196] in chunks - H2D copy, kernel, D2H copy - on
    side streams forked from and joined back to the current stream (capturable as one graph).
    ``design``: ``"copy-stream"`` puts every H2D copy in order on one copy stream and each chunk's
    kernel + D2H on one of two compute streams that waits for that chunk only; ``"streams"``
    puts all three steps of chunk j on stream j mod 4."""
    import cupy

    if design not in PIPELINE_DESIGNS:
        raise ValueError(
            f"pipeline design '{design}' unknown; valid: {', '.join(PIPELINE_DESIGNS)}"
        )
    n = len(rec)
    drec = torch.empty_like(rec, device="cuda")
    dres = torch.zeros((n, 3), device="cuda")
    copy = torch.cuda.Stream()
    compute = [torch.cuda.Stream() for _ in range(2 if design == "copy-stream" else 4)]

    def launch() -> None:
        root = torch.cuda.current_stream()
        for s in (copy, *compute):
            s.wait_stream(root)
        for j, lo in enumerate(range(0, n, chunk)):
            hi, s = min(n, lo + chunk), compute[j % len(compute)]
            with torch.cuda.stream(copy if design == "copy-stream" else s):
                drec[lo:hi].copy_(rec[lo:hi], non_blocking=True)
            if design == "copy-stream":
                landed = torch.cuda.Event()
                landed.record(copy)
                s.wait_event(landed)
            with torch.cuda.stream(s), cupy.cuda.ExternalStream(s.cuda_stream):
                k.launch_records(
                    k.one, hi - lo, cupy.asarray(drec[lo:hi]), cupy.asarray(dres[lo:hi])
                )
                res[lo:hi].copy_(dres[lo:hi], non_blocking=True)
        for s in (copy, *compute):
            root.wait_stream(s)

    return launch


class Server:
    """The persistent kernel over pinned jet records ``rec`` [n, 196] and ``out``
    (float32 [n, 4])."""

    def __init__(
        self, k: MmaKernels, rec: torch.Tensor, out: torch.Tensor, idle_ns: int = IDLE_NS
    ) -> None:
        self.k, self.n = k, len(rec)
        out.zero_()  # no stale request numbers from an earlier server on the same buffer
        self.ctrl = torch.zeros(4, dtype=torch.int32).pin_memory()
        self.ctrl_np, self.out_np = self.ctrl.numpy(), out.numpy()
        self.done = self.out_np.view(np.int32)[:, 3]
        self.blocks = int(min(SERVER_MAX_BLOCKS, max(1, -(-self.n // SERVER_JETS_PER_BLOCK))))
        self.stream = torch.cuda.Stream()
        mrec = mapped(rec)
        self.args = [
            k.params,
            mrec,
            mrec[:, MASK_OFFSET:],
            mapped(out),
            mapped(self.ctrl),
            np.int32(self.n),
            np.int64(idle_ns),
        ]
        self.seq = 0
        self._start(0)

    def _start(self, seen: int) -> None:
        """Launch the kernel; it treats request number ``seen`` as already answered."""
        import cupy

        self.ctrl_np[1] = 0
        with cupy.cuda.ExternalStream(self.stream.cuda_stream):
            args = (*self.args, np.int32(seen), np.int32(RECORD_BYTES // 2), np.int32(RECORD_BYTES))
            self.k.serve((self.blocks,), (32 * WARPS,), args)  # type: ignore[operator]

    def _restart(self, seen: int) -> None:
        self.stream.synchronize()  # every block of the idle kernel has left
        self._start(seen)

    def request(self) -> np.ndarray:
        """Ask for the current inputs; returns a view of the probabilities [n, 3]."""
        if self.ctrl_np[1] == EXITED:  # idle timeout since the last call: launch it again
            self._restart(self.seq)
        seq = self.seq = self.seq + 1
        self.ctrl_np[0] = seq
        t0, spins, done, n = time.perf_counter(), 0, self.done, self.n
        while not (done[-1] == seq and (n == 1 or (done == seq).all())):
            spins += 1
            if spins & 0xFFF == 0:
                if self.ctrl_np[1] == EXITED:  # it left just before this request arrived
                    self._restart(seq - 1)
                elif time.perf_counter() - t0 > HOST_TIMEOUT_S:
                    raise TimeoutError(
                        f"persistent kernel did not answer request {seq} within {HOST_TIMEOUT_S} s"
                    )
        return self.out_np[:, :3]

    def stop(self) -> None:
        self.ctrl_np[0] = -1
        self.stream.synchronize()
