"""Device-side checks and micro-timings behind the issue-5 GPU numbers.

`python bench/gpu_diagnostics.py --out DIR` (needs a CUDA GPU and cupy) writes
DIR/diagnostics.json and prints it:

* ``fragments``: one m16n8k16 and one m16n8k8 ``mma.sync`` on random fp16 tiles whose registers
  were filled through :func:`trigkit.runtime.cuda.mma.fragment_coords`, decoded the same way
  and compared with numpy (checks the layout every packed weight relies on);
* ``agreement``: the tensor-core kernel (device buffers and mapped host memory) on 4096 jets
  against the float64 model of its fp16 roundings and against torch float32;
* ``pcie_round_trip_ns``: dependent 4-byte reads of mapped host memory by one GPU thread;
* ``launch_floor_us``: an empty kernel as a 1-node CUDA graph (and as a plain launch) plus a
  stream synchronize, timed like the benchmark's calls;
* ``kernel_us``: kernel-only time per launch (CUDA events, inputs already on the device) of
  the mma kernel and of the previous tensor-core kernel, over batch sizes;
* ``runner_us``: p50 of ``KernelRunner.infer`` (the ``cuda-kernel`` backend) from float32 numpy
  inputs to a numpy copy of the probabilities - input validation (NaN check on or off), staging
  into the pinned jet records and the kernel call - per mode and batch size.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

PROBE = r"""
typedef unsigned int u32;
extern "C" __global__ void probe(const u32* a16, const u32* b16, const u32* a8, const u32* b8,
                                 float* c16, float* c8) {
  const int l = threadIdx.x;
  float c[4] = {0.f, 0.f, 0.f, 0.f};
  asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a16[l * 4]), "r"(a16[l * 4 + 1]), "r"(a16[l * 4 + 2]), "r"(a16[l * 4 + 3]),
        "r"(b16[l * 2]), "r"(b16[l * 2 + 1]));
  for (int i = 0; i < 4; ++i) c16[l * 4 + i] = c[i];
  float d[4] = {0.f, 0.f, 0.f, 0.f};
  asm("mma.sync.aligned.m16n8k8.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5}, {%6}, "
      "{%0,%1,%2,%3};"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a8[l * 2]), "r"(a8[l * 2 + 1]), "r"(b8[l]));
  for (int i = 0; i < 4; ++i) c8[l * 4 + i] = d[i];
}
extern "C" __global__ void round_trip(const int* p, int iters, unsigned long long* out) {
  unsigned long long t0, t1;
  int idx = 0;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t0));
  for (int i = 0; i < iters; ++i) {
    int v;
    asm volatile("ld.volatile.global.s32 %0, [%1];" : "=r"(v) : "l"(p + idx));
    idx = v;
  }
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t1));
  out[0] = t1 - t0;
  out[1] = idx;
}
extern "C" __global__ void nop() {}
"""


def _regs(kind: str, mat: np.ndarray) -> np.ndarray:
    from trigkit.runtime.cuda.mma import fragment_coords

    n_regs = {"a16": 4, "b16": 2, "a8": 2, "b8": 1}[kind]
    halves = np.zeros((32, n_regs, 2), dtype=np.float16)
    for lane in range(32):
        for reg in range(n_regs):
            for half in range(2):
                halves[lane, reg, half] = mat[fragment_coords(kind, lane, reg, half)]
    return halves.reshape(-1, 2).view(np.uint32).reshape(-1)


def _decode_c(c: np.ndarray) -> np.ndarray:
    from trigkit.runtime.cuda.mma import fragment_coords

    out = np.zeros((16, 8))
    for lane in range(32):
        for reg in range(4):
            out[fragment_coords("c", lane, reg, 0)] = c[lane * 4 + reg]
    return out


def fragments(cupy: object) -> dict[str, float]:
    rng = np.random.default_rng(0)
    a16, b16 = (
        rng.normal(size=(16, 16)).astype(np.float16),
        rng.normal(size=(16, 8)).astype(np.float16),
    )
    a8, b8 = rng.normal(size=(16, 8)).astype(np.float16), rng.normal(size=(8, 8)).astype(np.float16)
    k = cupy.RawKernel(PROBE, "probe")
    c16, c8 = cupy.zeros(128, dtype=np.float32), cupy.zeros(128, dtype=np.float32)
    k(
        (1,),
        (32,),
        (
            cupy.asarray(_regs("a16", a16)),
            cupy.asarray(_regs("b16", b16)),
            cupy.asarray(_regs("a8", a8)),
            cupy.asarray(_regs("b8", b8)),
            c16,
            c8,
        ),
    )
    want16 = a16.astype(np.float64) @ b16.astype(np.float64)
    want8 = a8.astype(np.float64) @ b8.astype(np.float64)
    return {
        "m16n8k16_max_abs_diff": float(np.abs(_decode_c(c16.get()) - want16).max()),
        "m16n8k8_max_abs_diff": float(np.abs(_decode_c(c8.get()) - want8).max()),
    }


def _jets(n: int) -> tuple[np.ndarray, np.ndarray]:
    from trigkit.compile.gpu_model import synthetic_objects

    return synthetic_objects(n, 15, 6, seed=3)


def agreement(cupy: object, module: torch.nn.Module) -> dict[str, float]:
    from trigkit.runtime.cuda.mma import reference_mma
    from trigkit.runtime.cuda.mma_run import MmaKernels
    from trigkit.runtime.cuda.pinned import mapped

    n = 4096
    tracks, mask = _jets(n)
    k = MmaKernels(module)
    x, m = cupy.asarray(tracks.astype(np.float16)), cupy.asarray(mask.astype(np.uint8))
    out = cupy.zeros((n, 3), dtype=np.float32)
    k.launch(k.one, n, x, m, out)
    got = out.get()
    hx = torch.from_numpy(tracks.astype(np.float16)).pin_memory()
    hm = torch.from_numpy(mask.astype(np.uint8)).pin_memory()
    hres = torch.zeros((n, 3)).pin_memory()
    k.launch(k.mapped, n, mapped(hx), mapped(hm), mapped(hres))
    cupy.cuda.Device().synchronize()
    from trigkit.benchmarks.gpu_mma import records

    rec_out = cupy.zeros((n, 3), dtype=np.float32)
    k.launch_records(
        k.one, n, cupy.asarray(records({"tracks": tracks, "mask": mask}, n).cuda()), rec_out
    )
    with torch.no_grad():
        logits = module(torch.from_numpy(tracks), torch.from_numpy(mask)).double()
    want32 = torch.softmax(logits, dim=1).numpy()
    ref = reference_mma(module, tracks, mask)
    one = {}
    for b in (1, 3, 17):  # small launches (1 warp, partial groups)
        o = cupy.zeros((b, 3), dtype=np.float32)
        k.launch(k.one, b, x[:b], m[:b], o)
        one[str(b)] = float(np.abs(o.get() - ref[:b]).max())
    return {
        "vs_fp16_model": float(np.abs(got - ref).max()),
        "vs_torch_fp32": float(np.abs(got - want32).max()),
        "fp16_model_vs_torch_fp32": float(np.abs(ref - want32).max()),
        "mapped_vs_device": float(np.abs(hres.numpy() - got).max()),
        "records_vs_planar": float(np.abs(rec_out.get() - got).max()),
        "small_batches_vs_model": one,
        "max_blocks": k.max_blocks,
        "num_regs": int(k.one.num_regs),
    }


def pcie_round_trip(cupy: object) -> float:
    from trigkit.runtime.cuda.pinned import mapped

    host = torch.zeros(64, dtype=torch.int32).pin_memory()
    out = cupy.zeros(2, dtype=np.uint64)
    k = cupy.RawKernel(PROBE, "round_trip")
    k((1,), (1,), (mapped(host), np.int32(10), out))
    k((1,), (1,), (mapped(host), np.int32(2000), out))
    return float(out.get()[0]) / 2000


def _p50(call: object, n: int = 2000) -> float:
    for _ in range(min(200, n)):
        call()  # type: ignore[operator]
    t = np.empty(n)
    for i in range(n):
        t0 = time.perf_counter()
        call()  # type: ignore[operator]
        t[i] = time.perf_counter() - t0
    return float(np.median(t) * 1e6)


def launch_floor(cupy: object) -> dict[str, float]:
    k = cupy.RawKernel(PROBE, "nop")
    from trigkit.runtime.cuda.graphs import capture

    stream = torch.cuda.Stream()
    cs = cupy.cuda.ExternalStream(stream.cuda_stream)

    def plain() -> None:
        with cs:
            k((1,), (32,), ())
        stream.synchronize()

    graph, _ = capture(lambda: k((1,), (32,), ()), stream, cupy=True)

    def replay() -> None:
        graph.replay()
        torch.cuda.current_stream().synchronize()

    return {"graph_replay_sync": _p50(replay), "plain_launch_sync": _p50(plain)}


def kernel_times(
    cupy: object, module: torch.nn.Module, sizes: tuple[int, ...]
) -> dict[str, dict[str, float]]:
    from trigkit.benchmarks.gpu_tc import TC_KERNEL, tc_weights
    from trigkit.runtime.cuda.mma_run import MmaKernels

    n_max = max(sizes)
    tracks, mask = _jets(n_max)
    x, m = cupy.asarray(tracks.astype(np.float16)), cupy.asarray(mask.astype(np.uint8))
    out = cupy.zeros((n_max, 3), dtype=np.float32)
    k = MmaKernels(module)
    tc = cupy.RawKernel(TC_KERNEL, "dips_tc")
    tcw = [cupy.asarray(w) for w in tc_weights(module)]
    n_sm = torch.cuda.get_device_properties(0).multi_processor_count
    runs = {
        "mma": lambda n: k.launch(k.one, n, x, m, out),
        "tc_previous": lambda n: tc(
            (max(1, min(-(-n // 4), 4 * n_sm)),), (128,), (x, m, *tcw, out, np.int32(n))
        ),
    }
    res: dict[str, dict[str, float]] = {}
    for name, run in runs.items():
        res[name] = {}
        for n in sizes:
            for _ in range(5):
                run(n)
            e0, e1 = cupy.cuda.Event(), cupy.cuda.Event()
            reps = 50
            e0.record()
            for _ in range(reps):
                run(n)
            e1.record()
            e1.synchronize()
            res[name][str(n)] = cupy.cuda.get_elapsed_time(e0, e1) * 1e3 / reps
    return res


def runner_times(module: torch.nn.Module) -> dict[str, float]:
    from trigkit.benchmarks.gpu import _Spec
    from trigkit.runtime.backends.cuda_kernel import KernelRunner

    specs = [_Spec("tracks", (-1, 15, 6), "float32"), _Spec("mask", (-1, 15), "float32")]
    out: dict[str, float] = {}
    for mode, sizes in (("persistent", (1, 16, 256)), ("graph", (1, 16, 256, 4096, 65536))):
        for policy in ("reject", "pass"):
            with KernelRunner(
                module, specs, mode=mode, max_batch=max(sizes), nan_policy=policy
            ) as r:  # type: ignore[arg-type]
                for n in sizes:
                    tracks, mask = _jets(n)
                    feed = {"tracks": tracks, "mask": mask}
                    out[f"{mode}/nan_{policy}/{n}"] = _p50(
                        lambda f=feed: r.infer(f), 500 if n < 4096 else 100
                    )
                    if policy == "pass":
                        xs, ms = r.staging(n)
                        xs[:], ms[:] = tracks, mask != 0
                        out[f"{mode}/staged/{n}"] = _p50(
                            lambda k=n: r.infer_staged(k), 500 if n < 4096 else 100
                        )
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    import cupy

    from trigkit.benchmarks.gpu_contenders import local_dips

    module = local_dips().module.eval()
    rec: dict[str, object] = {"device": torch.cuda.get_device_name(0)}
    steps = (
        ("fragments", lambda: fragments(cupy)),
        ("agreement", lambda: agreement(cupy, module)),
        ("pcie_round_trip_ns", lambda: pcie_round_trip(cupy)),
        ("launch_floor_us", lambda: launch_floor(cupy)),
        ("kernel_us", lambda: kernel_times(cupy, module, (1, 16, 256, 4096, 65536, 262144))),
        ("runner_us", lambda: runner_times(module)),
    )
    for name, step in steps:
        try:
            rec[name] = step()
        except Exception as exc:  # noqa: BLE001 - report every step, failed or not
            rec[name] = f"failed: {type(exc).__name__}: {exc}"
        print(name, json.dumps(rec[name]), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    from trigkit.core.atomic import write_text

    write_text(args.out / "diagnostics.json", json.dumps(rec, indent=2))  # temp file, then rename
    return 0


if __name__ == "__main__":
    sys.exit(main())
