"""Pythia engine throughput, this tree against a baseline git ref, side by side in one run.

For each worker count, each contender (``--baseline`` ref, extracted to a temporary directory,
and this checkout's ``src``) generates the same QCD sample in a fresh process (pool, MPI
tables and numba caches warmed first, in that process). Reported per run: wall time,
events/min, and the share of the wall time that Pythia's own event generation takes:
``pythia_s`` is measured separately, as the time of bare ``pythia.next()`` calls generating
the very same events (the same block seeds and settings, no record copy, no detector), and
``frac_in_pythia = pythia_s / (wall_s x workers)`` (the generation's share of the cores).
On a shared, loaded box wall times mostly measure the other users, so CPU seconds are
reported too: ``cpu_s`` of the run (main process + its workers), ``pythia_cpu_s`` of the bare
generation, ``cpu_frac_in_pythia`` their ratio and ``events_per_cpu_min`` (what one idle
core would give). The load average is recorded around every run.

    PYTHONPATH=src python bench/bench_pythia.py --events 2000 10000 --workers 1 2 --mu 60 \\
        --baseline main --out bench/results/pythia_speed.json

Several ``--events`` counts: a short sample shows the fixed cost of starting the workers (a
few CPU-seconds each), a sample of about a minute's worth the rate a long run settles at.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]


def _child(a: argparse.Namespace) -> None:
    """One measurement in this process (PYTHONPATH picks the contender's sources)."""
    from trigkit.events.pythia import engine
    from trigkit.events.pythia.config import PythiaConfig

    engine.run(PythiaConfig("qcd", 5, seed=99, mu=a.mu, pool_size=a.pool_size), a.work)
    cfg = PythiaConfig("qcd", a.events, seed=7, mu=a.mu, pool_size=a.pool_size)
    t0, c0 = time.perf_counter(), _cpu()
    batch = engine.run(cfg, a.work, workers=a.child)
    wall = time.perf_counter() - t0
    row = {"wall_s": round(wall, 2), "cpu_s": round(_cpu() - c0, 2), "events_out": len(batch)}
    print(json.dumps(row), flush=True)


def _cpu() -> float:
    """CPU seconds of this process and of its finished children (the workers). Not
    ``trigkit.core.cputime``: the baseline contender's tree may predate it."""
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _pythia_alone(a: argparse.Namespace) -> None:
    """Seconds of bare ``next()`` calls for the sample's events (block by block, as the engine
    seeds them, with the settings the engine gives Pythia), Pythia init excluded."""
    from trigkit.events.pythia import block, settings
    from trigkit.events.pythia.config import PythiaConfig

    cfg = PythiaConfig("qcd", a.events, seed=7, mu=a.mu, pool_size=a.pool_size)
    spent, cpu = 0.0, 0.0
    for index, n in enumerate(block.block_sizes(cfg.n_events)):
        seed = block.block_seed(cfg.seed, index)
        pythia = settings.build(
            settings.hard_settings(cfg), seed, "qcd", a.work / "mpi-init-qcd.dat"
        )
        with settings.captured_stdout():
            t0, c0 = time.perf_counter(), time.process_time()
            for _ in range(n):
                while not pythia.next():
                    pass
            spent += time.perf_counter() - t0
            cpu += time.process_time() - c0
    print(json.dumps({"pythia_s": round(spent, 2), "pythia_cpu_s": round(cpu, 2)}), flush=True)


def _extract(ref: str, dest: Path) -> Path:
    """``src/`` of git ``ref`` of this repository, unpacked under ``dest``."""
    data = subprocess.run(
        ["git", "-C", str(ROOT), "archive", ref, "src"], check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=BytesIO(data)) as tar:
        tar.extractall(dest, filter="data")
    return dest / "src"


def _run(src: Path, args: list[str]) -> dict:
    env = {**os.environ, "PYTHONPATH": str(src)}
    load0 = os.getloadavg()[0]
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), *args],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout
    row = json.loads([ln for ln in out.splitlines() if ln.startswith("{")][-1])
    row["load_before"], row["load_after"] = round(load0, 2), round(os.getloadavg()[0], 2)
    return row


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, nargs="+", default=[1000])
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--mu", type=float, default=60.0)
    ap.add_argument("--pool-size", type=int, default=2000)
    ap.add_argument("--baseline", default="main", help="git ref to compare with ('' for none)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/trigkit-bench-pythia"))
    ap.add_argument("--out", type=Path)
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--pythia-alone", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    a.work.mkdir(parents=True, exist_ok=True)
    if a.child or a.pythia_alone:
        a.events = a.events[0]  # a child measures one sample
        return _child(a) if a.child else _pythia_alone(a)
    rows, alone = [], {}
    with tempfile.TemporaryDirectory(prefix="trigkit-bench-") as tmp:
        trees = {"this tree": ROOT / "src"}
        if a.baseline:
            trees = {f"baseline {a.baseline}": _extract(a.baseline, Path(tmp)), **trees}
        for events in a.events:
            common = ["--events", str(events), "--mu", str(a.mu), "--pool-size", str(a.pool_size)]
            common += ["--work", str(a.work)]
            alone[events] = _run(ROOT / "src", [*common, "--pythia-alone"])
            for n in a.workers:
                for name, src in trees.items():
                    row = {"code": name, "workers": n, "events": events, "mu": a.mu}
                    row.update(_run(src, [*common, "--child", str(n)]))
                    rows.append(_rates(row, alone[events]))
                    print(json.dumps(row), flush=True)
    _table(rows, alone)
    if a.out:
        meta = {"host_cpus": os.cpu_count(), "python": sys.version.split()[0]}
        a.out.write_text(json.dumps({"meta": meta, "runs": rows}, indent=1) + "\n")


def _rates(row: dict, alone: dict) -> dict:
    """``row`` with its rates and its share in Pythia (``alone``: the bare generation)."""
    n, events = row["workers"], row["events"]
    row["events_per_min"] = round(events / row["wall_s"] * 60)
    row["events_per_cpu_min"] = round(events / row["cpu_s"] * 60)
    row.update({k: alone[k] for k in ("pythia_s", "pythia_cpu_s")})
    row["frac_in_pythia"] = round(alone["pythia_s"] / (row["wall_s"] * n), 3)
    row["cpu_frac_in_pythia"] = round(alone["pythia_cpu_s"] / row["cpu_s"], 3)
    return row


def _table(rows: list[dict], alone: dict[int, dict]) -> None:
    t = Table(title=f"pythia engine, QCD <mu> = {rows[0]['mu']:g}")
    cols = ("code", "events", "workers", "wall [s]", "events/min", "in Pythia (wall)", "CPU [s]")
    for col in (*cols, "events/CPU-min", "in Pythia (CPU)", "load"):
        t.add_column(col)
    for r in rows:
        t.add_row(
            r["code"],
            str(r["events"]),
            str(r["workers"]),
            f"{r['wall_s']:.1f}",
            str(r["events_per_min"]),
            f"{100 * r['frac_in_pythia']:.0f} %",
            f"{r['cpu_s']:.1f}",
            str(r["events_per_cpu_min"]),
            f"{100 * r['cpu_frac_in_pythia']:.0f} %",
            f"{r['load_before']:.1f}-{r['load_after']:.1f}",
        )
    console = Console(width=170)
    console.print(t)
    for events, one in alone.items():
        console.print(
            f"Pythia alone, {events} events (bare next(), same events): "
            f"{one['pythia_s']:.1f} s wall, {one['pythia_cpu_s']:.1f} s CPU"
        )


if __name__ == "__main__":
    main()
