"""GPU latency of every runtime backend: `python bench/bench_gpu.py --out DIR [--batches ...]`.

Same as `trigkit bench gpu`; every available backend side by side in one process, outputs
checked against onnxruntime float32 before timing, JSON + PNG written to DIR.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=Path("bench/results"))
    ap.add_argument("--batches", default="1,16,256,4096,65536")
    ap.add_argument("--repeats", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--budget-s", type=float, default=3.0)
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--only", default="", help="comma-separated contender names (default: all)")
    ap.add_argument("--merge", default="", help="comma-separated result dirs to merge into --out")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from trigkit.benchmarks.gpu import merge_results, run_bench, summary_rows

    if args.merge:
        rec = merge_results([Path(d) for d in args.merge.split(",")], args.out)
    else:
        rec = run_bench(
            args.out,
            batches=tuple(int(b) for b in args.batches.split(",")),
            repeats=args.repeats,
            warmup=args.warmup,
            budget_s=args.budget_s,
            model_path=args.model,
            min_repeats=min(20, args.repeats),
            only=tuple(x for x in args.only.split(",") if x),
        )
    print(f"device: {rec['environment']['device']}")
    print(
        f"{'contender':30s} {'batch':>7s} {'reps':>5s} {'p50 us':>10s} "
        f"{'p99 us':>10s} {'jets/s':>10s}"
    )
    for name, b, n, p50, p99, thr in summary_rows(rec):
        print(f"{name:30s} {b:7d} {n:5d} {p50:10.1f} {p99:10.1f} {thr:10.3g}")
    for t in rec["transfers"]:
        print(
            f"copy {t['inputs']:10s} batch {t['batch']:6d}: {t['bytes_per_jet']:.0f} B/jet, H2D "
            f"{t['h2d_p50_us']:.1f} us ({t['h2d_GBps']:.1f} GB/s), D2H(in) {t['d2h_p50_us']:.1f} us"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
