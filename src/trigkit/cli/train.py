"""`trigkit train` and `trigkit evaluate` (owned by the models work).

Event files may follow ``--events`` one after another (``--events hh4b.parquet qcd.parquet``)
or repeat the option.
"""

from __future__ import annotations

from pathlib import Path

import typer

from trigkit.core.errors import TrigkitError


def _console():  # type: ignore[no-untyped-def]
    """A console wide enough for the metrics table even when output is not a terminal."""
    import sys

    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 160)


def _read(paths: list[Path], max_events: int | None = None) -> list:
    """Read event files through the events layer (any format it supports)."""
    try:
        from trigkit.events.sources import open_events
    except ImportError:  # pragma: no cover - the events layer without sources
        from trigkit.events.parquet_io import read_parquet as open_events

    if not paths:
        raise TrigkitError("no event files given; pass --events FILE [FILE ...]")
    batches = []
    for p in paths:
        b = open_events(p)
        batches.append(b[:max_events] if max_events else b)
    return batches


def _train(
    model: str = typer.Option(
        ..., "--model", "-m", help="Model name, e.g. btag-deepsets (see `trigkit train --list`)."
    ),
    events: list[Path] = typer.Option(
        [], "--events", "-e", help="Event files (.parquet, .root, .h5)."
    ),
    more: list[Path] = typer.Argument(
        None, help="More event files (after --events).", show_default=False
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Where to write the trained model (.pt)."),
    epochs: int = typer.Option(30, "--epochs", min=1),
    seed: int = typer.Option(0, "--seed"),
    max_jets: int | None = typer.Option(
        None, "--max-jets", min=1, help="Subsample to this many jets."
    ),
    batch_size: int = typer.Option(512, "--batch-size", min=1),
    lr: float = typer.Option(1e-3, "--lr", min=0.0),
    patience: int = typer.Option(5, "--patience", min=1, help="Early-stopping patience (epochs)."),
    plot: Path | None = typer.Option(
        None, "--plot", help="Also write the validation ROC (PNG) here."
    ),
    threads: int | None = typer.Option(
        None, "--threads", min=1, help="torch CPU threads (1 is fastest on a busy machine)."
    ),
) -> None:
    """Train a tagger on event files and save weights + preprocessing + config."""
    if threads:
        import torch

        torch.set_num_threads(threads)

    from trigkit.models.registry import get_spec
    from trigkit.models.training import train

    get_spec(model)  # unknown names fail before reading any file
    batches = _read([*events, *(more or [])])
    tm = train(
        model,
        batches,
        seed=seed,
        epochs=epochs,
        lr=lr,
        batch_size=batch_size,
        patience=patience,
        max_jets=max_jets,
    )
    tm.save(out)
    con = _console()
    con.print(
        f"trained {model}: {tm.extra['n_train']} training / {tm.extra['n_val']} validation "
        f"objects, best epoch {tm.extra['best_epoch'] + 1} of {tm.extra['epochs_run']}"
    )
    if tm.metrics:
        from trigkit.report.metrics_table import metrics_table

        con.print(metrics_table(tm.metrics, title="validation"))
    if plot is not None:
        _validation_plot(tm, batches, seed, plot)
    con.print(f"wrote {out}")


def _validation_plot(tm: object, batches: list, seed: int, plot: Path) -> None:
    from trigkit.models.evaluation import evaluate
    from trigkit.models.training import features_of, split
    from trigkit.report.roc import plot_roc

    fs = features_of(tm.name, batches, tm.preprocessing.max_objects or None)  # type: ignore[attr-defined]
    _, va = split(fs, 0.2, seed)
    ev = evaluate(tm, va)  # type: ignore[arg-type]
    plot_roc(
        [(r.name, c) for r, c in zip(ev.rows, ev.rocs, strict=True)],
        plot,
        signal=ev.signal,
        background=ev.background,
    )


def _evaluate(
    paths: list[Path] = typer.Argument(
        ...,
        help="MODEL.pt (trigkit train), a bundle (trigkit compile) or a model trained elsewhere "
        "(.onnx, TorchScript .pt, .pt2, .keras/.h5), optionally followed by event files.",
    ),
    events: list[Path] = typer.Option([], "--events", "-e", help="Event files to evaluate on."),
    out_dir: Path = typer.Option(
        ..., "--out-dir", "-o", help="Directory for metrics.json and roc.png."
    ),
    max_events: int | None = typer.Option(
        None, "--max-events", min=1, help="Read at most this many events per file."
    ),
    feature_map: Path | None = typer.Option(
        None,
        "--feature-map",
        help="For a bundle or a model trained elsewhere: which jet fields feed its inputs "
        "(as for emulate --feature-map / --xbb-feature-map).",
    ),
    tagger: str = typer.Option(
        "btag",
        "--tagger",
        help="For a bundle or a model trained elsewhere: btag (scores jets: b vs light) or "
        "xbb (scores large-R jets: H->bb vs QCD).",
    ),
) -> None:
    """Evaluate a trained tagger and its baselines on the same jets; write \
roc.png + metrics.json."""
    import json

    from trigkit.core.atomic import write_text
    from trigkit.report.metrics_table import metrics_table
    from trigkit.report.roc import plot_roc

    batches = _read([*events, *paths[1:]], max_events)
    foreign = _foreign(paths[0])
    if foreign:
        ev, name, note = _evaluate_foreign(paths[0], feature_map, batches, out_dir, tagger)
    else:
        if feature_map is not None or tagger != "btag":
            raise TrigkitError(
                f"--feature-map / --tagger: {paths[0]} is a trigkit-trained model, which "
                "extracts its own features and knows what it tags; drop them"
            )
        ev, name, note = _evaluate_own(paths[0], batches)
    result = {
        "model_file": str(paths[0]),
        "events": [str(p) for p in [*events, *paths[1:]]],
        **({"scores": note} if note else {}),
        **ev.as_dict(),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    write_text(out_dir / "metrics.json", json.dumps(result, indent=2) + "\n")
    plot_roc(
        [(r.name, c) for r, c in zip(ev.rows, ev.rocs, strict=True)],
        out_dir / "roc.png",
        signal=ev.signal,
        background=ev.background,
        title=name,
    )
    con = _console()
    title = f"{name}: {ev.n_objects} {ev.signal} + {ev.background} objects"
    if foreign:
        title += " (odd events; baselines fitted on the even ones)"
    con.print(metrics_table(ev.as_dict(), title=title))
    if note:
        con.print(f"scores: {note}")
    con.print(f"wrote {out_dir / 'metrics.json'} and {out_dir / 'roc.png'}")


def _foreign(path: Path) -> bool:
    from trigkit.importers import is_foreign_model

    return (path / "manifest.json").is_file() if path.is_dir() else is_foreign_model(path)


def _evaluate_own(path: Path, batches: list) -> tuple[object, str, str]:
    from trigkit.models.evaluation import evaluate
    from trigkit.models.feature_set import FeatureSet
    from trigkit.models.saved import load_model

    model = load_model(path)
    fs = FeatureSet.concatenate([model.features(b) for b in batches])
    return evaluate(model, fs), model.name, ""


def _evaluate_foreign(
    path: Path, feature_map: Path | None, batches: list, out_dir: Path, tagger: str
) -> tuple[object, str, str]:
    """A bundle as it is; a model file compiled first into a gpu bundle (fp32, onnxruntime)
    under ``out_dir``."""
    from trigkit.emulator.bundle_evaluation import evaluate_bundle

    bundle = path
    if not path.is_dir():
        from trigkit.compile.targets.imported import ImportOptions, compile_imported_gpu

        bundle = out_dir / f"{path.stem}_gpu"
        compile_imported_gpu(path, bundle, ImportOptions(), engine="never")
    ev, note = evaluate_bundle(bundle, feature_map, batches, tagger)
    return ev, ev.model.name, note


def _list() -> None:
    """List the tagger models that can be trained."""
    from trigkit.report.listings import models_table

    _console().print(models_table())


def register(app: typer.Typer) -> None:
    app.command("train")(_train)
    app.command("evaluate")(_evaluate)
    app.command("models")(_list)
