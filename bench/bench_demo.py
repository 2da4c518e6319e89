"""Wall and CPU time of `trigkit demo` (default engine and sizes), with a cold and a warm cache.

`python bench/bench_demo.py --out bench/results/demo.json [-- DEMO ARGS]` runs the demo twice
as a user would (`python -m trigkit.cli.app demo --out ...`): first with an empty Pythia cache
(a fresh `$TRIGKIT_CACHE`: pool and samples generated), then again with the same cache (samples
reused). Per run it records the stage wall and CPU times from the demo's `demo.json`, the load
average before and after, and the demo's console output (the README's tour quotes it).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _run(work: Path, name: str, extra: list[str]) -> dict:
    out = work / f"demo-{name}"
    env = {**os.environ, "TRIGKIT_CACHE": str(work / "cache"), "COLUMNS": "100"}
    cmd = [sys.executable, "-m", "trigkit.cli.app", "demo", "--out", str(out), *extra]
    load0, t0 = list(os.getloadavg()), time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        sys.exit(f"error: demo ({name} cache) failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    rec = json.loads((out / "demo.json").read_text())
    print(f"{name} cache: {wall:.0f} s", flush=True)
    return {
        "cache": name,
        "wall_s": wall,
        "stages": [
            {"stage": n, "wall_s": s, "cpu_s": rec["facts"]["stage_cpu_s"][n]}
            for n, s in rec["stages"]
        ],
        "loadavg_before": load0,
        "loadavg_after": list(os.getloadavg()),
        "engine": rec["engine"],
        "samples": rec["facts"]["samples"],
        "output": [line.replace(str(out), "demo-out") for line in done.stdout.splitlines()],
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=Path("bench/results/demo.json"))
    ap.add_argument("--allow-older", action="store_true", help="replace a newer result")
    ap.add_argument("demo_args", nargs="*", help="extra `trigkit demo` arguments (after --)")
    args = ap.parse_args()
    from trigkit.benchmarks.provenance import provenance, write_result

    prov = provenance({"generator_workers": 2})
    with tempfile.TemporaryDirectory(prefix="trigkit-bench-demo-") as tmp:
        runs = [_run(Path(tmp), name, args.demo_args) for name in ("cold", "warm")]
    rec = {"benchmark": "demo", "demo_args": args.demo_args, "runs": runs, "provenance": prov}
    write_result(args.out, rec, args.allow_older)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
