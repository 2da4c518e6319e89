"""Register-resident tensor-core kernel for the DIPS-like DeepSets (latency and throughput).

One warp owns one jet at a time: its 15 tracks (+1 zero row) are the 16 rows of ``mma.sync``
m16n8k* tiles (fp16 in, fp32 accumulate). The accumulator fragment of one layer *is* the A
fragment of the next (the C layout of two adjacent n8 tiles equals the A layout of one k16
tile), so phi's three layers never leave registers; the masked sum over tracks is three warp
shuffles; the pooled vectors of up to 16 jets are packed straight into the A fragment of rho,
whose three layers then run as tensor-core tiles too (one row per jet), followed by the softmax.
Weights and biases are pre-arranged on the host in fragment order (``pack_params``) so each lane
reads its two B registers with one 64-bit shared-memory load. Inputs: fp16 tracks [n,15,6] and
a uint8 mask [n,15], either as two arrays or as one 196-byte record per jet (180 bytes of
tracks, 15 mask bytes, 1 pad byte: one copy per batch); output fp32 probabilities [n,3].

Entry points (compiled at run time by cupy/NVRTC, no headers):

* ``dips_mma`` / ``dips_mma_mapped``: one launch per call; inputs in device memory, or read
  straight from mapped pinned host memory (zero-copy; volatile loads);
* ``dips_mma_serve``: persistent - launched once, polls a request counter in mapped host memory
  (``ld.acquire.sys``), reads the jets from mapped host memory and writes each jet's
  probabilities together with the request number as one 16-byte store, which the host polls;
  up to 32 blocks, each polling the counter itself, so batches up to 128 jets get one jet a warp.

Fragment layouts are those of the PTX ISA ("Matrix Fragments for mma.m16n8k16 / m16n8k8",
floating-point types); :func:`fragment_coords` states them once for the packer and the tests.
"""

from __future__ import annotations

import numpy as np
from torch import nn

LAYER_SHAPES = [(6, 64), (64, 64), (64, 64), (64, 64), (64, 32), (32, 3)]
# word offsets of the parameter block (uint32 words; biases stored as float32 bits)
OFF = {
    "w1": 0,
    "w2": 256,
    "w3": 2304,
    "r1": 4352,
    "r2": 6400,
    "r3": 7424,
    "b1": 7552,
    "b2": 7616,
    "b3": 7680,
    "c1": 7744,
    "c2": 7808,
    "c3": 7840,
}
PARAM_WORDS = 7848
WARPS = 4  # warps per block
RECORD_BYTES = 196  # one jet: 15x6 fp16 tracks (180 B), 15 mask bytes, 1 pad byte
MASK_OFFSET = 180
MAX_GROUP = 16  # jets per warp group (rows of rho's A tile)

MMA_KERNEL = r"""
typedef unsigned int u32;
typedef unsigned short u16;
#define FULL 0xffffffffu
#define PARAM_WORDS 7848
#define WARPS 4

__device__ __forceinline__ u32 pack2(float lo, float hi) {
  u32 r;
  asm("cvt.rn.f16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
  return r;
}
__device__ __forceinline__ void mma16(float (&c)[4], u32 a0, u32 a1, u32 a2, u32 a3, u32 b0,
                                      u32 b1) {
  asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}
__device__ __forceinline__ void mma8(float (&c)[4], u32 a0, u32 a1, u32 b0) {
  asm("mma.sync.aligned.m16n8k8.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5}, {%6}, "
      "{%0,%1,%2,%3};"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a0), "r"(a1), "r"(b0));
}
template <bool MAPPED> __device__ __forceinline__ u32 ld32(const u16* p) {
  u32 v;
  if (MAPPED) asm volatile("ld.volatile.global.u32 %0, [%1];" : "=r"(v) : "l"(p));
  else v = __ldg((const u32*)p);
  return v;
}
template <bool MAPPED> __device__ __forceinline__ float ldmask(const unsigned char* p) {
  unsigned short v;
  if (MAPPED) asm volatile("ld.volatile.global.u8 %0, [%1];" : "=h"(v) : "l"(p));
  else v = __ldg(p);
  return v ? 1.f : 0.f;
}

// lane (g, t): rows g and g+8 of the jet (row 15 is padding), features 2t, 2t+1 (t < 3)
// jet j's tracks start at x + j*xs (halfs), its mask bytes at mask + j*ms: planar arrays
// (xs 90, ms 15) or 196-byte jet records (xs 98, ms 196, mask = x + 180 bytes)
template <bool MAPPED>
__device__ __forceinline__ void load_jet(const u16* x, const unsigned char* mask, long long jet,
                                         int xs, int ms, int g, int t, u32& xa0, u32& xa1,
                                         float& m0, float& m1) {
  const u16* xj = x + jet * xs;
  xa0 = 0; xa1 = 0;
  if (t < 3) {
    xa0 = ld32<MAPPED>(xj + g * 6 + 2 * t);
    if (g < 7) xa1 = ld32<MAPPED>(xj + (g + 8) * 6 + 2 * t);
  }
  m0 = ldmask<MAPPED>(mask + jet * ms + g);
  m1 = g < 7 ? ldmask<MAPPED>(mask + jet * ms + g + 8) : 0.f;
}

// C fragments of n-tiles 2kt, 2kt+1 -> A fragment of k-tile kt, with ReLU, as fp16 pairs
template <int KT>
__device__ __forceinline__ void relu_pack(const float (&c)[2 * KT][4], u32 (&a)[KT][4]) {
#pragma unroll
  for (int kt = 0; kt < KT; ++kt) {
    a[kt][0] = pack2(fmaxf(c[2 * kt][0], 0.f), fmaxf(c[2 * kt][1], 0.f));
    a[kt][1] = pack2(fmaxf(c[2 * kt][2], 0.f), fmaxf(c[2 * kt][3], 0.f));
    a[kt][2] = pack2(fmaxf(c[2 * kt + 1][0], 0.f), fmaxf(c[2 * kt + 1][1], 0.f));
    a[kt][3] = pack2(fmaxf(c[2 * kt + 1][2], 0.f), fmaxf(c[2 * kt + 1][3], 0.f));
  }
}

// c[nt] = bias + a @ W for a [16 x 16*KT] x [16*KT x 8*NT] layer; W in fragment order
template <int KT, int NT>
__device__ __forceinline__ void dense(float (&c)[NT][4], const u32 (&a)[KT][4], const u32* w,
                                      const float* bias, int lane, int t) {
#pragma unroll
  for (int nt = 0; nt < NT; ++nt) {
    const float2 b = *reinterpret_cast<const float2*>(bias + nt * 8 + 2 * t);
    c[nt][0] = b.x; c[nt][1] = b.y; c[nt][2] = b.x; c[nt][3] = b.y;
  }
#pragma unroll
  for (int kt = 0; kt < KT; ++kt)
#pragma unroll
    for (int nt = 0; nt < NT; ++nt) {
      const uint2 b = *reinterpret_cast<const uint2*>(w + ((kt * NT + nt) * 32 + lane) * 2);
      mma16(c[nt], a[kt][0], a[kt][1], a[kt][2], a[kt][3], b.x, b.y);
    }
}

__device__ __forceinline__ void softmax3(float z0, float z1, float z2, float& p0, float& p1,
                                         float& p2) {
  const float m = fmaxf(z0, fmaxf(z1, z2));
  const float e0 = __expf(z0 - m), e1 = __expf(z1 - m), e2 = __expf(z2 - m);
  const float s = 1.f / (e0 + e1 + e2);
  p0 = e0 * s; p1 = e1 * s; p2 = e2 * s;
}

template <bool SEQ>
__device__ __forceinline__ void write_jet(float* out, long long jet, float z0, float z1, float z2,
                                          u32 seq) {
  float p0, p1, p2;
  softmax3(z0, z1, z2, p0, p1, p2);
  if (SEQ) {  // probabilities + request number in one 16-byte store the host polls
    asm volatile("st.volatile.global.v4.f32 [%0], {%1,%2,%3,%4};"
                 :: "l"(out + jet * 4), "f"(p0), "f"(p1), "f"(p2), "f"(__uint_as_float(seq))
                 : "memory");
  } else {
    out[jet * 3 + 0] = p0; out[jet * 3 + 1] = p1; out[jet * 3 + 2] = p2;
  }
}

// one warp: jets jet0 .. jet0+nj-1 (nj <= 16) through phi, the masked sum, rho and the softmax
template <bool MAPPED, bool SEQ>
__device__ void run_group(const u32* P, const u16* x, const unsigned char* mask, int xs, int ms,
                          float* out, long long jet0, int nj, int lane, u32 seq) {
  const int g = lane >> 2, t = lane & 3;
  const float* fb = reinterpret_cast<const float*>(P);
  u32 ra[4][4];
#pragma unroll
  for (int kt = 0; kt < 4; ++kt) { ra[kt][0] = 0; ra[kt][1] = 0; ra[kt][2] = 0; ra[kt][3] = 0; }
  u32 xa0, xa1;
  float m0, m1;
  load_jet<MAPPED>(x, mask, jet0, xs, ms, g, t, xa0, xa1, m0, m1);
  for (int i = 0; i < nj; ++i) {
    float c[8][4];
#pragma unroll
    for (int nt = 0; nt < 8; ++nt) {
      const float2 b = *reinterpret_cast<const float2*>(fb + OFF_B1 + nt * 8 + 2 * t);
      c[nt][0] = b.x; c[nt][1] = b.y; c[nt][2] = b.x; c[nt][3] = b.y;
      mma8(c[nt], xa0, xa1, P[OFF_W1 + nt * 32 + lane]);
    }
    const float cm0 = m0, cm1 = m1;
    if (i + 1 < nj)
      load_jet<MAPPED>(x, mask, jet0 + i + 1, xs, ms, g, t, xa0, xa1, m0, m1);  // prefetch
    u32 a[4][4];
    relu_pack<4>(c, a);
    dense<4, 8>(c, a, P + OFF_W2, fb + OFF_B2, lane, t);
    relu_pack<4>(c, a);
    dense<4, 8>(c, a, P + OFF_W3, fb + OFF_B3, lane, t);
    float p[8][2];
#pragma unroll
    for (int nt = 0; nt < 8; ++nt) {
      p[nt][0] = fmaxf(c[nt][0], 0.f) * cm0 + fmaxf(c[nt][2], 0.f) * cm1;
      p[nt][1] = fmaxf(c[nt][1], 0.f) * cm0 + fmaxf(c[nt][3], 0.f) * cm1;
    }
#pragma unroll
    for (int off = 4; off < 32; off <<= 1)
#pragma unroll
      for (int nt = 0; nt < 8; ++nt) {
        p[nt][0] += __shfl_xor_sync(FULL, p[nt][0], off);
        p[nt][1] += __shfl_xor_sync(FULL, p[nt][1], off);
      }
    if ((i & 7) == g) {  // jet i is row i of rho's A tile
#pragma unroll
      for (int kt = 0; kt < 4; ++kt) {
        const u32 lo = pack2(p[2 * kt][0], p[2 * kt][1]),
                  hi = pack2(p[2 * kt + 1][0], p[2 * kt + 1][1]);
        if (i < 8) { ra[kt][0] = lo; ra[kt][2] = hi; } else { ra[kt][1] = lo; ra[kt][3] = hi; }
      }
    }
  }
  float c[8][4];
  dense<4, 8>(c, ra, P + OFF_R1, fb + OFF_C1, lane, t);
  u32 a[4][4];
  relu_pack<4>(c, a);
  float d[4][4];
  dense<4, 4>(d, a, P + OFF_R2, fb + OFF_C2, lane, t);
  u32 a2[2][4];
  relu_pack<2>(d, a2);
  float z[1][4];
  dense<2, 1>(z, a2, P + OFF_R3, fb + OFF_C3, lane, t);
  const int src = (lane & ~3) | 1;  // logit 2 of rows g, g+8 sits in lane (g, 1)
  const float z2a = __shfl_sync(FULL, z[0][0], src), z2b = __shfl_sync(FULL, z[0][2], src);
  if (t == 0) {
    if (g < nj) write_jet<SEQ>(out, jet0 + g, z[0][0], z[0][1], z2a, seq);
    if (g + 8 < nj) write_jet<SEQ>(out, jet0 + g + 8, z[0][2], z[0][3], z2b, seq);
  }
}

__device__ __forceinline__ void load_params(u32* P, const uint4* params) {
  for (int i = threadIdx.x; i < PARAM_WORDS / 4; i += blockDim.x)
    reinterpret_cast<uint4*>(P)[i] = params[i];
  __syncthreads();
}

template <bool MAPPED>
__device__ void one_shot(const uint4* params, const u16* x, const unsigned char* mask, float* out,
                         int n, int group, int xs, int ms) {
  __shared__ __align__(16) u32 P[PARAM_WORDS];
  load_params(P, params);
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int ngroups = (n + group - 1) / group;
  for (int gi = blockIdx.x * WARPS + warp; gi < ngroups; gi += gridDim.x * WARPS) {
    const long long jet0 = (long long)gi * group;
    run_group<MAPPED, false>(P, x, mask, xs, ms, out, jet0, (int)min((long long)group, n - jet0),
                             lane, 0u);
  }
}

extern "C" __global__ void __launch_bounds__(128) dips_mma(const uint4* params, const u16* x,
    const unsigned char* mask, float* out, int n, int group, int xs, int ms) {
  one_shot<false>(params, x, mask, out, n, group, xs, ms);
}

extern "C" __global__ void __launch_bounds__(128) dips_mma_mapped(const uint4* params, const u16* x,
    const unsigned char* mask, float* out, int n, int group, int xs, int ms) {
  one_shot<true>(params, x, mask, out, n, group, xs, ms);
}

__device__ __forceinline__ unsigned long long now_ns() {
  unsigned long long t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  return t;
}

// ctrl (mapped host memory): [0] request number written by the host (> 0; < 0 = stop),
// [1] set to -2 by a block that leaves after idle_ns without a request (the host relaunches).
// Blocks poll independently; block b runs warp groups b*WARPS+w, b*WARPS+w + gridDim.x*WARPS, ...
extern "C" __global__ void __launch_bounds__(128) dips_mma_serve(const uint4* params, const u16* x,
    const unsigned char* mask, float* out, int* ctrl, int n, long long idle_ns, int seen0, int xs,
    int ms) {
  __shared__ __align__(16) u32 P[PARAM_WORDS];
  __shared__ int cmd;
  load_params(P, params);
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  int seen = seen0;
  const int warps = gridDim.x * WARPS;
  const int group = min(16, max(1, (n + warps - 1) / warps));
  const int ngroups = (n + group - 1) / group;
  while (true) {
    if (threadIdx.x == 0) {
      const unsigned long long t0 = now_ns();
      int c = 0;
      while (c == 0) {
        int req;
        asm volatile("ld.acquire.sys.global.s32 %0, [%1];" : "=r"(req) : "l"(ctrl) : "memory");
        if (req != seen) c = req;
        else if ((long long)(now_ns() - t0) > idle_ns) c = -2;
      }
      if (c == -2) {
        asm volatile("st.volatile.global.s32 [%0], %1;" :: "l"(ctrl + 1), "r"(-2) : "memory");
        __threadfence_system();
      }
      cmd = c;
    }
    __syncthreads();
    const int c = cmd;
    if (c < 0) return;
    seen = c;
    for (int gi = blockIdx.x * WARPS + warp; gi < ngroups; gi += warps)
      run_group<true, true>(P, x, mask, xs, ms, out, (long long)gi * group,
                            min(group, n - gi * group), lane, (u32)c);
    __syncthreads();  // cmd is rewritten only after every thread has read it
  }
}
"""
MMA_KERNEL = "".join(f"#define OFF_{k.upper()} {v}\n" for k, v in OFF.items()) + MMA_KERNEL


def fragment_coords(kind: str, lane: int, reg: int, half: int) -> tuple[int, int]:
    """(row, col) of the element held in ``half`` (0 = low 16 bits) of 32-bit register ``reg``
    of ``lane`` for the PTX mma fragments used here: ``a16`` (16x16 A, row-major), ``b16``
    (16x8 B: row = k, col = n), ``a8`` (16x8 A of m16n8k8), ``b8`` (8x8 B of m16n8k8), and ``c``
    (16x8 f32 accumulator: ``reg`` indexes the four floats, ``half`` is ignored)."""
    g, t = lane >> 2, lane & 3
    if kind == "a16":
        return g + 8 * (reg & 1), 2 * t + half + 8 * (reg >> 1)
    if kind == "a8":
        return g + 8 * reg, 2 * t + half
    if kind == "b16":
        return 2 * t + half + 8 * reg, g
    if kind == "b8":
        return 2 * t + half, g
    if kind == "c":
        return g + 8 * (reg >> 1), 2 * t + (reg & 1)
    raise ValueError(f"unknown fragment kind {kind!r}")


def _b_fragments(w: np.ndarray, kind: str) -> np.ndarray:
    """[K, N] float matrix -> uint32 words in (k-tile, n-tile, lane, register) order."""
    kt_rows = 16 if kind == "b16" else 8
    n_regs = 2 if kind == "b16" else 1
    k, n = w.shape
    halves = np.zeros((k // kt_rows, n // 8, 32, n_regs, 2), dtype=np.float16)
    for lane in range(32):
        for reg in range(n_regs):
            for half in range(2):
                r, c = fragment_coords(kind, lane, reg, half)
                halves[:, :, lane, reg, half] = w[r::kt_rows, c::8][: k // kt_rows, : n // 8]
    return halves.reshape(-1, 2).view(np.uint32).reshape(-1)


def _pad(a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    out = np.zeros(shape, dtype=np.float64)
    out[tuple(slice(0, s) for s in a.shape)] = a
    return out


def _linears(module: nn.Module) -> list[nn.Linear]:
    linears = [m for m in module.modules() if isinstance(m, nn.Linear)]
    shapes = [(m.in_features, m.out_features) for m in linears]
    if shapes != LAYER_SHAPES:
        raise ValueError(f"mma kernel only for the 6-64-64-64 / 64-64-32-3 DeepSets, got {shapes}")
    return linears


def dense_weights(module: nn.Module) -> list[np.ndarray]:
    """[W1, b1, ..., R3, c3] in float64, weights as [in, out], K/N zero-padded to the tiles."""
    out = []
    for m, (k, n) in zip(
        _linears(module), [(8, 64), (64, 64), (64, 64), (64, 64), (64, 32), (32, 8)], strict=True
    ):
        out.append(_pad(m.weight.detach().double().t().numpy(), (k, n)))
        out.append(_pad(m.bias.detach().double().numpy(), (n,)))
    return out


def pack_params(module: nn.Module) -> np.ndarray:
    """The kernel's parameter block: fp16 B fragments of the six layers, then fp32 biases."""
    w1, b1, w2, b2, w3, b3, r1, c1, r2, c2, r3, c3 = dense_weights(module)
    parts = {
        "w1": _b_fragments(w1, "b8"),
        "w2": _b_fragments(w2, "b16"),
        "w3": _b_fragments(w3, "b16"),
        "r1": _b_fragments(r1, "b16"),
        "r2": _b_fragments(r2, "b16"),
        "r3": _b_fragments(r3, "b16"),
    }
    for name, b in (("b1", b1), ("b2", b2), ("b3", b3), ("c1", c1), ("c2", c2), ("c3", c3)):
        parts[name] = b.astype(np.float32).view(np.uint32)
    block = np.zeros(PARAM_WORDS, dtype=np.uint32)
    for name, words in parts.items():
        block[OFF[name] : OFF[name] + len(words)] = words
    ends = sorted(OFF.values())[1:] + [PARAM_WORDS]
    for (name, start), end in zip(sorted(OFF.items(), key=lambda kv: kv[1]), ends, strict=True):
        assert len(parts[name]) <= end - start, f"{name} overflows its slot"
    return block


def unpack_b(block: np.ndarray, name: str, k: int, n: int) -> np.ndarray:
    """Inverse of the packing through :func:`fragment_coords` (tests: it must give W back)."""
    kind = "b8" if name == "w1" else "b16"
    kt_rows, n_regs = (8, 1) if kind == "b8" else (16, 2)
    words = block[OFF[name] : OFF[name] + (k // kt_rows) * (n // 8) * 32 * n_regs]
    halves = words.view(np.float16).reshape(k // kt_rows, n // 8, 32, n_regs, 2)
    w = np.zeros((k, n))
    for kt in range(k // kt_rows):
        for nt in range(n // 8):
            for lane in range(32):
                for reg in range(n_regs):
                    for half in range(2):
                        r, c = fragment_coords(kind, lane, reg, half)
                        w[kt * kt_rows + r, nt * 8 + c] = halves[kt, nt, lane, reg, half]
    return w


def _round16(a: np.ndarray) -> np.ndarray:
    return a.astype(np.float16).astype(np.float64)


def _same(a: np.ndarray) -> np.ndarray:
    return a


def reference_mma(
    module: nn.Module, tracks: np.ndarray, mask: np.ndarray, fp16: bool = True
) -> np.ndarray:
    """float64 numpy model of what the kernel computes: fp16 weights, inputs and activations at
    each point where the kernel rounds to fp16 (A fragments), exact sums otherwise; with
    ``fp16=False`` the same network without any rounding."""
    _f16 = _round16 if fp16 else _same
    w1, b1, w2, b2, w3, b3, r1, c1, r2, c2, r3, c3 = dense_weights(module)
    w1, w2, w3, r1, r2, r3 = (_f16(w) for w in (w1, w2, w3, r1, r2, r3))
    x = np.zeros((*tracks.shape[:2], 8))
    x[..., :6] = _f16(tracks)
    h = _f16(np.maximum(x @ w1 + b1, 0))
    h = _f16(np.maximum(h @ w2 + b2, 0))
    h = np.maximum(h @ w3 + b3, 0) * (mask != 0)[..., None]
    q = _f16(h.sum(axis=1))
    q = _f16(np.maximum(q @ r1 + c1, 0))
    q = _f16(np.maximum(q @ r2 + c2, 0))
    z = (q @ r3 + c3)[:, :3]
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def group_size(n: int, max_warps: int) -> int:
    """Jets per warp group: spread small batches over warps, 16 per warp at large batch."""
    return int(min(MAX_GROUP, max(1, -(-n // max_warps))))


def launch_grid(n: int, group: int, max_blocks: int) -> int:
    n_groups = -(-n // group)
    return int(max(1, min(-(-n_groups // WARPS), max_blocks)))
