"""`trigkit demo`: the whole chain on generated events into one output folder."""

from __future__ import annotations

from pathlib import Path

import typer

# trigkit.events.samples.TOY_LABEL (a test keeps them equal; importing it here would load
# awkward on every CLI start)
TOY_LABEL = "toy generator, numbers not physical"
MIN_EVENTS = 100  # per process, whatever --scale says: every tagger still sees both classes


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo_cmd(
        out: Path = typer.Option(
            Path("demo-out"), "--out", help="Output folder (events, models, bundles, report)."
        ),
        seed: int = typer.Option(1, "--seed", help="Generator and training seed."),
        engine: str = typer.Option(
            "pythia",
            "--engine",
            help="pythia: Pythia 8 showers + pileup + detector response, samples cached by "
            "config hash so a rerun reuses them. fast: the numba toy generator "
            f"({TOY_LABEL}).",
        ),
        scale: float = typer.Option(
            1.0, "--scale", help="Multiply the default event counts (1.0 fits ~10 min on 2 cores)."
        ),
        mu: float = typer.Option(60.0, "--mu", help="pythia: mean pileup interactions."),
        pool_size: int = typer.Option(
            2000, "--pool-size", help="pythia: minimum-bias pool size (cached once)."
        ),
        workers: int = typer.Option(
            2, "--workers", help="pythia: generator processes (same events for any count)."
        ),
        epochs: int = typer.Option(
            8, "--epochs", help="Training epochs per tagger (early stopping may end sooner)."
        ),
        menu: str = typer.Option(
            "run3_hh4b", "--menu", help="Shipped menu name or YAML file to emulate."
        ),
        no_fpga: bool = typer.Option(False, "--no-fpga", help="Skip the hls4ml FPGA compile."),
        no_gpu: bool = typer.Option(False, "--no-gpu", help="Skip the ONNX/GPU compile."),
    ) -> None:
        """Generate hh4b/qcd/ttbar (Pythia by default), train + compress + compile the \
taggers, emulate the HH->4b menu."""
        from rich.console import Console

        from trigkit.cli.demo_steps import DEFAULT_EVENTS, DemoConfig, run_demo
        from trigkit.core.errors import TrigkitError

        if engine not in DEFAULT_EVENTS:
            raise TrigkitError(f"unknown --engine '{engine}'; valid: pythia, fast")
        if not scale > 0:
            raise TrigkitError(f"--scale must be > 0, got {scale}")
        if workers < 1:
            raise TrigkitError(f"--workers must be a positive integer, got {workers}")
        counts = DEFAULT_EVENTS[engine]
        cfg = DemoConfig(
            out=out,
            engine=engine,
            mu=mu,
            pool_size=pool_size,
            workers=workers,
            seed=seed,
            epochs=epochs,
            menu=menu,
            fpga=not no_fpga,
            gpu=not no_gpu,
            events={k: max(MIN_EVENTS, int(v * scale)) for k, v in counts.items()},
        )
        console = Console()
        log = run_demo(cfg, console.print)
        total = sum(dt for _, dt in log.stages)
        console.print(f"[bold green]demo finished in {total:.0f} s[/]; report: {out / 'report.md'}")
        if engine == "fast":
            console.print(f"[bold yellow]events from the {TOY_LABEL}[/]")
