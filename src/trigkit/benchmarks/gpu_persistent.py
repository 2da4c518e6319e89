"""Persistent (spin-wait) fused kernel: the batch-1 contender without any launch per call.

One thread block (960 threads, the fp32 layout of :mod:`gpu_fused`) is launched once and
spins on a request counter in mapped pinned host memory. A call writes ``ctrl[0] = seq`` from
the host and spins until the kernel has written the probabilities (mapped host memory) and
``ctrl[1] = seq``. Jets are read straight from mapped host memory. The kernel exits on
``ctrl[2] = 1`` or after ``IDLE_NS`` without a request, so a lost host never leaves it running.
Only for small batches (jets run one after another in the one block).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

IDLE_NS = 500_000_000
HOST_TIMEOUT_S = 1.0

PERSIST_KERNEL = r"""
__device__ __forceinline__ unsigned long long now_ns() {
  unsigned long long t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  return t;
}

extern "C" __global__ void dips_persist(const volatile float* x, const volatile float* mask,
    const float* __restrict__ w1, const float* __restrict__ b1, const float* __restrict__ w2,
    const float* __restrict__ b2, const float* __restrict__ w3, const float* __restrict__ b3,
    const float* __restrict__ r1, const float* __restrict__ c1, const float* __restrict__ r2,
    const float* __restrict__ c2, const float* __restrict__ r3, const float* __restrict__ c3,
    volatile float* out, volatile int* ctrl, const int n, const long long idle_ns) {
  __shared__ float xs[15 * 6];
  __shared__ float ha[15 * 64];
  __shared__ float hb[15 * 64];
  __shared__ float pooled[64];
  __shared__ float q1[64];
  __shared__ float q2[32];
  __shared__ float z[3];
  __shared__ int cmd;
  const int t = threadIdx.x / 64, j = threadIdx.x % 64;
  int seen = ctrl[1];
  while (true) {
    if (threadIdx.x == 0) {
      const unsigned long long t0 = now_ns();
      int c = 0;
      while (c == 0) {
        const int req = ctrl[0];
        if (ctrl[2] != 0) c = -1;
        else if (req != seen) { seen = req; c = 1; }
        else if ((long long)(now_ns() - t0) > idle_ns) c = -1;
      }
      __threadfence_system();
      cmd = c;
    }
    __syncthreads();
    if (cmd < 0) return;
    for (int jet = 0; jet < n; ++jet) {
      if (threadIdx.x < 90) xs[threadIdx.x] = x[jet * 90 + threadIdx.x];
      __syncthreads();
      float a = b1[j];
      for (int k = 0; k < 6; ++k) a += xs[t * 6 + k] * w1[k * 64 + j];
      ha[t * 64 + j] = fmaxf(a, 0.f);
      __syncthreads();
      a = b2[j];
#pragma unroll 16
      for (int k = 0; k < 64; ++k) a += ha[t * 64 + k] * w2[k * 64 + j];
      hb[t * 64 + j] = fmaxf(a, 0.f);
      __syncthreads();
      a = b3[j];
#pragma unroll 16
      for (int k = 0; k < 64; ++k) a += hb[t * 64 + k] * w3[k * 64 + j];
      ha[t * 64 + j] = fmaxf(a, 0.f) * mask[jet * 15 + t];
      __syncthreads();
      if (t == 0) {
        float s = 0.f;
        for (int u = 0; u < 15; ++u) s += ha[u * 64 + j];
        pooled[j] = s;
      }
      __syncthreads();
      if (t == 0) {
        a = c1[j];
#pragma unroll 16
        for (int k = 0; k < 64; ++k) a += pooled[k] * r1[k * 64 + j];
        q1[j] = fmaxf(a, 0.f);
      }
      __syncthreads();
      if (t == 0 && j < 32) {
        a = c2[j];
        for (int k = 0; k < 64; ++k) a += q1[k] * r2[k * 32 + j];
        q2[j] = fmaxf(a, 0.f);
      }
      __syncthreads();
      if (t == 0 && j < 3) {
        a = c3[j];
        for (int k = 0; k < 32; ++k) a += q2[k] * r3[k * 3 + j];
        z[j] = a;
      }
      __syncthreads();
      if (threadIdx.x == 0) {
        const float m = fmaxf(z[0], fmaxf(z[1], z[2]));
        const float e0 = expf(z[0] - m), e1 = expf(z[1] - m), e2 = expf(z[2] - m);
        const float s = e0 + e1 + e2;
        out[jet * 3 + 0] = e0 / s; out[jet * 3 + 1] = e1 / s; out[jet * 3 + 2] = e2 / s;
      }
      __syncthreads();
    }
    if (threadIdx.x == 0) {
      __threadfence_system();
      ctrl[1] = seen;
    }
  }
}
"""


def persistent_factory(
    module: nn.Module, data: dict[str, np.ndarray]
) -> Callable[[int], Callable[[], np.ndarray]]:
    import cupy

    from trigkit.benchmarks.gpu_fused import _weights
    from trigkit.runtime.cuda.pinned import mapped, pinned

    kernel = cupy.RawKernel(PERSIST_KERNEL, "dips_persist")
    weights = [cupy.asarray(w) for w in _weights(module)]
    running: list[tuple[np.ndarray, torch.cuda.Stream]] = []

    def stop_previous() -> None:
        while running:
            ctrl_np, stream = running.pop()
            ctrl_np[2] = 1
            stream.synchronize()

    def prepare(n: int) -> Callable[[], np.ndarray]:
        stop_previous()
        x = pinned(data["tracks"][:n].astype(np.float32))
        m = pinned(data["mask"][:n].astype(np.float32))
        res = torch.zeros((n, 3)).pin_memory()
        ctrl = torch.zeros(4, dtype=torch.int32).pin_memory()
        ctrl_np = ctrl.numpy()
        stream = torch.cuda.Stream()
        args = (
            mapped(x),
            mapped(m),
            *weights,
            mapped(res),
            mapped(ctrl),
            np.int32(n),
            np.int64(IDLE_NS),
        )
        with cupy.cuda.ExternalStream(stream.cuda_stream):
            kernel((1,), (15 * 64,), args)
        running.append((ctrl_np, stream))
        state = {"seq": 0, "keep": (x, m, ctrl, args)}

        def call() -> np.ndarray:
            seq = state["seq"] = state["seq"] + 1
            ctrl_np[0] = seq
            deadline = time.perf_counter() + HOST_TIMEOUT_S
            while ctrl_np[1] != seq:
                if time.perf_counter() > deadline:
                    raise TimeoutError(
                        f"persistent kernel did not answer request {seq} within {HOST_TIMEOUT_S} s"
                    )
            return res.numpy()

        return call

    return prepare
