"""`trigkit export triton BUNDLE REPO`: a Triton Inference Server model repository from a gpu
bundle."""

from __future__ import annotations

from pathlib import Path

import typer

export_app = typer.Typer(help="Export compiled bundles for serving.", no_args_is_help=True)


@export_app.command("triton")
def triton_cmd(
    bundle: Path = typer.Argument(
        ..., help="gpu bundle written by `trigkit compile --target gpu`."
    ),
    repo: Path = typer.Argument(..., help="Model repository directory (created if missing)."),
    name: str | None = typer.Option(
        None, "--name", help="Model name (default: the bundle's model name)."
    ),
    backend: str = typer.Option(
        "auto", "--backend", help="auto, onnx or tensorrt (auto: engine if the bundle has one)."
    ),
    max_batch_size: int | None = typer.Option(None, "--max-batch-size", min=1),
    instances: int = typer.Option(
        1, "--instances", min=1, help="Instances per GPU (instance_group count)."
    ),
    kind: str = typer.Option("KIND_GPU", "--kind", help="KIND_GPU or KIND_CPU."),
    queue_delay_us: int = typer.Option(100, "--max-queue-delay-us", min=0),
    preferred: str = typer.Option(
        "64,256,1024", "--preferred-batch-sizes", help="Comma-separated."
    ),
) -> None:
    """Write <repo>/<model>/config.pbtxt and <repo>/<model>/1/model.onnx|model.plan."""
    from trigkit.core.errors import TrigkitError
    from trigkit.runtime.triton import TritonOptions, export_triton

    if backend not in ("auto", "onnx", "tensorrt"):
        raise TrigkitError(f"--backend '{backend}' unknown; valid: auto, onnx, tensorrt")
    if kind not in ("KIND_GPU", "KIND_CPU"):
        raise TrigkitError(f"--kind '{kind}' unknown; valid: KIND_GPU, KIND_CPU")
    try:
        sizes = tuple(int(v) for v in preferred.split(",") if v.strip())
    except ValueError:
        raise TrigkitError(
            f"--preferred-batch-sizes '{preferred}': expected comma-separated integers"
        ) from None
    opts = TritonOptions(
        model_name=name,
        backend=backend,  # type: ignore[arg-type]
        max_batch_size=max_batch_size,
        instance_count=instances,
        instance_kind=kind,  # type: ignore[arg-type]
        preferred_batch_sizes=sizes,
        max_queue_delay_us=queue_delay_us,
    )
    dest = export_triton(bundle, repo, opts)
    typer.echo(
        f"wrote Triton model {dest} "
        f"({', '.join(sorted(p.name for p in dest.rglob('*') if p.is_file()))})"
    )


def register(app: typer.Typer) -> None:
    app.add_typer(export_app, name="export")
