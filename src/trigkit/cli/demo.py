"""`trigkit demo`: the whole chain on generated events into one output folder."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo_cmd(
        out: Path = typer.Option(
            Path("demo-out"), "--out", help="Output folder (events, models, bundles, report)."
        ),
        seed: int = typer.Option(1, "--seed", help="Generator and training seed."),
        scale: float = typer.Option(
            1.0, "--scale", help="Multiply the default event counts (1.0 fits ~10 min on 2 cores)."
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
        """Generate hh4b/qcd/ttbar, train + compress + compile the taggers, emulate the \
HH->4b menu."""
        from rich.console import Console

        from trigkit.cli.demo_steps import DemoConfig, run_demo
        from trigkit.core.errors import TrigkitError

        if scale <= 0:
            raise TrigkitError(f"--scale must be > 0, got {scale}")
        base = DemoConfig(out=out)
        cfg = DemoConfig(
            out=out,
            seed=seed,
            epochs=epochs,
            menu=menu,
            fpga=not no_fpga,
            gpu=not no_gpu,
            events={k: max(200, int(v * scale)) for k, v in base.events.items()},
        )
        console = Console()
        log = run_demo(cfg, console.print)
        total = sum(dt for _, dt in log.stages)
        console.print(f"[bold green]demo finished in {total:.0f} s[/]; report: {out / 'report.md'}")
