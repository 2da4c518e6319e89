"""Pythia engine throughput: events/min for 1..N workers (caches warm) and the share of
wall time inside Pythia's event call (single process): ``block._next``, i.e.
``pythia.nextBatch(1)`` (one ``next()``, the record copied to awkward) plus taking its columns.

    PYTHONPATH=src python bench/bench_pythia.py --events 1000 --workers 1 2 --mu 60
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from trigkit.events.pythia import block, engine
from trigkit.events.pythia.config import PythiaConfig


def _timed_next(spent: list[float]):
    inner = block._next

    def timed(pythia):
        t0 = time.perf_counter()
        out = inner(pythia)
        spent[0] += time.perf_counter() - t0
        return out

    return inner, timed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1000)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--mu", type=float, default=60.0)
    ap.add_argument("--pool-size", type=int, default=2000)
    ap.add_argument("--work", type=Path, default=Path("/tmp/trigkit-bench-pythia"))
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    a.work.mkdir(parents=True, exist_ok=True)
    warm = PythiaConfig("qcd", 5, seed=99, mu=a.mu, pool_size=a.pool_size)
    engine.run(warm, a.work)  # pool, MPI tables and numba caches
    cfg = PythiaConfig("qcd", a.events, seed=7, mu=a.mu, pool_size=a.pool_size)
    rows = []
    for n in a.workers:
        spent = [0.0]
        inner, timed = _timed_next(spent)
        block._next = timed  # counted in this process only (workers = 1)
        t0 = time.perf_counter()
        engine.run(cfg, a.work, workers=n)
        wall = time.perf_counter() - t0
        block._next = inner
        row = {"workers": n, "events": a.events, "wall_s": round(wall, 2)}
        row["events_per_min"] = round(a.events / wall * 60)
        if n == 1:
            row["frac_in_pythia_call"] = round(spent[0] / wall, 3)
        rows.append(row)
        print(json.dumps(row), flush=True)
    if a.out:
        a.out.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
