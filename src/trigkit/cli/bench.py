"""`trigkit bench ...`: one sub-command per benchmark module in :mod:`trigkit.benchmarks`."""

from __future__ import annotations

import typer

bench_app = typer.Typer(
    help="Latency / throughput benchmarks (JSON + one summary table).", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    from trigkit.benchmarks import all as all_bench
    from trigkit.benchmarks import bundle, emulator, firmware, generator, gpu

    for module in (generator, firmware, emulator, gpu, bundle, all_bench):
        module.register(bench_app)
    app.add_typer(bench_app, name="bench")
