"""Tensor-core fused CUDA kernel for the DIPS-like DeepSets (a throughput contender).

One thread block (4 warps) loops over groups of 4 jets (60 tracks padded to 64 rows): phi's
three layers run as 16x16x16 fp16 WMMA tiles with fp32 accumulation (each warp owns 16 rows,
weights and activations in shared memory), then bias/ReLU/mask, the masked sum per jet and rho
(fp32, plain FMAs) with the softmax - all in one launch. Inputs are fp16 tracks [n,15,6] and a
uint8 mask [n,15]; output fp32 probabilities [n,3]. Compiled at run time by cupy (NVRTC).
"""

from __future__ import annotations

import numpy as np
from torch import nn

TC_KERNEL = r"""
// fp16 values are carried as raw bits (unsigned short); tensor-core tiles via PTX wmma (no headers)
typedef unsigned short h16;
__device__ __forceinline__ h16 f2h(float f) {
  h16 h;
  asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f));
  return h;
}
__device__ __forceinline__ void load_a(unsigned (&a)[8], const h16* p, unsigned ld) {
  asm volatile("wmma.load.a.sync.aligned.row.m16n16k16.f16 {%0,%1,%2,%3,%4,%5,%6,%7}, [%8], %9;"
      : "=r"(a[0]), "=r"(a[1]), "=r"(a[2]), "=r"(a[3]),
        "=r"(a[4]), "=r"(a[5]), "=r"(a[6]), "=r"(a[7])
      : "l"(p), "r"(ld) : "memory");
}
__device__ __forceinline__ void load_b(unsigned (&b)[8], const h16* p, unsigned ld) {
  asm volatile("wmma.load.b.sync.aligned.row.m16n16k16.f16 {%0,%1,%2,%3,%4,%5,%6,%7}, [%8], %9;"
      : "=r"(b[0]), "=r"(b[1]), "=r"(b[2]), "=r"(b[3]),
        "=r"(b[4]), "=r"(b[5]), "=r"(b[6]), "=r"(b[7])
      : "l"(p), "r"(ld) : "memory");
}
__device__ __forceinline__ void mma(float (&d)[8], const unsigned (&a)[8], const unsigned (&b)[8]) {
  asm volatile("wmma.mma.sync.aligned.row.row.m16n16k16.f32.f32 "
      "{%0,%1,%2,%3,%4,%5,%6,%7}, {%8,%9,%10,%11,%12,%13,%14,%15}, "
      "{%16,%17,%18,%19,%20,%21,%22,%23}, {%0,%1,%2,%3,%4,%5,%6,%7};"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]),
        "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(a[4]), "r"(a[5]), "r"(a[6]), "r"(a[7]),
        "r"(b[0]), "r"(b[1]), "r"(b[2]), "r"(b[3]), "r"(b[4]), "r"(b[5]), "r"(b[6]), "r"(b[7]));
}
__device__ __forceinline__ void store_d(float* p, const float (&d)[8], unsigned ld) {
  asm volatile("wmma.store.d.sync.aligned.row.m16n16k16.f32 [%0], {%1,%2,%3,%4,%5,%6,%7,%8}, %9;"
      :: "l"(p), "f"(d[0]), "f"(d[1]), "f"(d[2]), "f"(d[3]),
         "f"(d[4]), "f"(d[5]), "f"(d[6]), "f"(d[7]), "r"(ld) : "memory");
}

extern "C" __global__ void __launch_bounds__(128) dips_tc(
    const h16* __restrict__ x, const unsigned char* __restrict__ mask,
    const h16* __restrict__ w1, const float* __restrict__ b1,
    const h16* __restrict__ w2, const float* __restrict__ b2,
    const h16* __restrict__ w3, const float* __restrict__ b3,
    const float* __restrict__ r1, const float* __restrict__ c1,
    const float* __restrict__ r2, const float* __restrict__ c2,
    const float* __restrict__ r3, const float* __restrict__ c3,
    float* __restrict__ out, const int n) {
  __shared__ __align__(32) h16 sw1[16 * 64];
  __shared__ __align__(32) h16 sw2[64 * 64];
  __shared__ __align__(32) h16 sw3[64 * 64];
  __shared__ __align__(32) h16 sx[64 * 16];
  __shared__ __align__(32) h16 sh[64 * 64];
  __shared__ __align__(32) float sf[64 * 64];
  __shared__ float sm[64];
  __shared__ float pooled[4 * 64];
  __shared__ float q1[4 * 64];
  __shared__ float q2[4 * 32];
  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
  const int row0 = warp * 16;
  for (int i = tid; i < 16 * 64; i += 128) sw1[i] = w1[i];
  for (int i = tid; i < 64 * 64; i += 128) { sw2[i] = w2[i]; sw3[i] = w3[i]; }
  for (int i = tid; i < 64 * 16; i += 128) sx[i] = 0;
  __syncthreads();
  const int ngroups = (n + 3) / 4;
  unsigned fa[8], fb[8];
  float acc[4][8];
  for (int g = blockIdx.x; g < ngroups; g += gridDim.x) {
    const int jet0 = g * 4;
    const int nj = min(4, n - jet0);
    const int nrows = nj * 15;
    const size_t base = (size_t)jet0 * 15;
    for (int i = tid; i < 64 * 6; i += 128) {
      const int r = i / 6, c = i - r * 6;
      sx[r * 16 + c] = (r < nrows) ? x[base * 6 + i] : (h16)0;
    }
    for (int r = tid; r < 64; r += 128) sm[r] = (r < nrows) ? (float)mask[base + r] : 0.f;
    __syncthreads();
    // phi layer 1: [64 x 16] @ [16 x 64]; each warp owns 16 rows
#pragma unroll
    for (int c = 0; c < 4; ++c)
#pragma unroll
      for (int e = 0; e < 8; ++e) acc[c][e] = 0.f;
    load_a(fa, sx + row0 * 16, 16);
#pragma unroll
    for (int c = 0; c < 4; ++c) {
      load_b(fb, sw1 + c * 16, 64);
      mma(acc[c], fa, fb);
    }
#pragma unroll
    for (int c = 0; c < 4; ++c) store_d(sf + row0 * 64 + c * 16, acc[c], 64);
    __syncwarp();
    for (int i = lane; i < 16 * 64; i += 32) {
      const int k = row0 * 64 + i;
      sh[k] = f2h(fmaxf(sf[k] + b1[i & 63], 0.f));
    }
    __syncwarp();
    // phi layers 2 and 3: [64 x 64] @ [64 x 64]
    for (int layer = 0; layer < 2; ++layer) {
      const h16* w = layer == 0 ? sw2 : sw3;
#pragma unroll
      for (int c = 0; c < 4; ++c)
#pragma unroll
        for (int e = 0; e < 8; ++e) acc[c][e] = 0.f;
#pragma unroll
      for (int k = 0; k < 4; ++k) {
        load_a(fa, sh + row0 * 64 + k * 16, 64);
#pragma unroll
        for (int c = 0; c < 4; ++c) {
          load_b(fb, w + k * 16 * 64 + c * 16, 64);
          mma(acc[c], fa, fb);
        }
      }
      __syncwarp();  // every lane has read sh before it is overwritten below
#pragma unroll
      for (int c = 0; c < 4; ++c) store_d(sf + row0 * 64 + c * 16, acc[c], 64);
      __syncwarp();
      if (layer == 0) {
        for (int i = lane; i < 16 * 64; i += 32) {
          const int k = row0 * 64 + i;
          sh[k] = f2h(fmaxf(sf[k] + b2[i & 63], 0.f));
        }
      } else {
        for (int i = lane; i < 16 * 64; i += 32) {
          const int k = row0 * 64 + i;
          sf[k] = fmaxf(sf[k] + b3[i & 63], 0.f) * sm[row0 + (i >> 6)];
        }
      }
      __syncwarp();
    }
    __syncthreads();
    // masked sum over the 15 tracks of each of the 4 jets
    for (int o = tid; o < 4 * 64; o += 128) {
      const int jj = o >> 6, j = o & 63;
      float s = 0.f;
      for (int t = 0; t < 15; ++t) s += sf[(jj * 15 + t) * 64 + j];
      pooled[o] = s;
    }
    __syncthreads();
    for (int o = tid; o < 4 * 64; o += 128) {
      const int jj = o >> 6, j = o & 63;
      float a = c1[j];
      for (int k = 0; k < 64; ++k) a += pooled[jj * 64 + k] * r1[k * 64 + j];
      q1[o] = fmaxf(a, 0.f);
    }
    __syncthreads();
    {
      const int jj = tid >> 5, j = tid & 31;
      float a = c2[j];
      for (int k = 0; k < 64; ++k) a += q1[jj * 64 + k] * r2[k * 32 + j];
      q2[jj * 32 + j] = fmaxf(a, 0.f);
    }
    __syncthreads();
    if (tid < nj) {
      float z[3];
      for (int m = 0; m < 3; ++m) {
        float a = c3[m];
        for (int k = 0; k < 32; ++k) a += q2[tid * 32 + k] * r3[k * 3 + m];
        z[m] = a;
      }
      const float mx = fmaxf(z[0], fmaxf(z[1], z[2]));
      const float e0 = expf(z[0] - mx), e1 = expf(z[1] - mx), e2 = expf(z[2] - mx);
      const float s = e0 + e1 + e2;
      float* o = out + (size_t)(jet0 + tid) * 3;
      o[0] = e0 / s; o[1] = e1 / s; o[2] = e2 / s;
    }
    __syncthreads();  // the next group overwrites sx / sm / sf / pooled
  }
}
"""

LAYER_SHAPES = [(6, 64), (64, 64), (64, 64), (64, 64), (64, 32), (32, 3)]


def tc_weights(module: nn.Module) -> list[np.ndarray]:
    """[W1^T padded to 16x64, b1, W2^T, b2, W3^T, b3] fp16/fp32, then rho [in,out] fp32 + biases."""
    linears = [m for m in module.modules() if isinstance(m, nn.Linear)]
    shapes = [(m.in_features, m.out_features) for m in linears]
    if shapes != LAYER_SHAPES:
        raise ValueError(
            f"tensor-core kernel only for the 6-64-64-64 / 64-64-32-3 DeepSets, got {shapes}"
        )
    out: list[np.ndarray] = []
    for i, m in enumerate(linears):
        wt = m.weight.detach().double().t().numpy()
        if i == 0:
            wt = np.vstack([wt, np.zeros((10, 64))])
        out.append(np.ascontiguousarray(wt, dtype=np.float16 if i < 3 else np.float32))
        out.append(np.ascontiguousarray(m.bias.detach().numpy(), dtype=np.float32))
    return out


def reference_tc(weights: list[np.ndarray], tracks: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """float64 numpy model of what the kernel computes (fp16 activations between phi layers)."""
    w1, b1, w2, b2, w3, b3, r1, c1, r2, c2, r3, c3 = (w.astype(np.float64) for w in weights)
    x = np.zeros((*tracks.shape[:2], 16))
    x[..., :6] = tracks.astype(np.float16)
    h = np.maximum(x @ w1 + b1, 0).astype(np.float16).astype(np.float64)
    h = np.maximum(h @ w2 + b2, 0).astype(np.float16).astype(np.float64)
    h = np.maximum(h @ w3 + b3, 0) * (mask != 0)[..., None]
    q = np.maximum(np.maximum(h.sum(axis=1) @ r1 + c1, 0) @ r2 + c2, 0)
    z = q @ r3 + c3
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)
