"""`trigkit emulate`: run a trigger menu (L1 + HLT) over event files; write JSON, Markdown, PNGs.

Event files follow ``--signal`` / ``--background``, several after one flag
(``--background qcd.parquet ttbar.parquet``) or the flag repeated.
"""

from __future__ import annotations

from pathlib import Path

import typer

from trigkit.core.errors import TrigkitError

EPILOG = (
    "Event files: --signal FILE... and --background FILE... (several files after "
    "one flag). --menu takes a YAML file or a shipped menu name (run3_hh4b, "
    "atlas_2b2j, nano_tt_v12, ...). Scores: jets.btag from --btag-bundle, "
    "jets.l1_score from --l1-bundle; without them, baseline stand-ins."
)


def split_file_args(args: list[str]) -> tuple[list[Path], list[Path], list[Path]]:
    """(signal, background, nanoaod) files from the free arguments, in order."""
    groups: dict[str, list[Path]] = {"--signal": [], "--background": [], "--nanoaod": []}
    current: list[Path] | None = None
    for a in args:
        flag, eq, value = a.partition("=")
        if flag in groups:
            current = groups[flag]
            if eq:
                current.append(Path(value))
            continue
        if a.startswith("-"):
            raise TrigkitError(f"emulate: unknown option '{a}'; see trigkit emulate --help")
        if current is None:
            raise TrigkitError(
                f"emulate: '{a}' is not preceded by --signal, --background or --nanoaod"
            )
        current.append(Path(a))
    return groups["--signal"], groups["--background"], groups["--nanoaod"]


def _overheads(items: list[str]) -> dict[str, float]:
    out = {}
    for item in items:
        name, sep, value = item.rpartition("=")
        try:
            out[name or "fixed overhead"] = float(value)
        except ValueError:
            raise TrigkitError(
                f"--l1-overhead-ns '{item}': expected NAME=NANOSECONDS, e.g. links=1500"
            ) from None
    return out


def emulate(
    ctx: typer.Context,
    menu: str = typer.Option(..., "--menu", help="Menu YAML file or shipped menu name."),
    out: Path = typer.Option(..., "--out", help="Output directory (written atomically)."),
    lumi: float = typer.Option(2.0e34, "--lumi", help="Instantaneous luminosity, cm^-2 s^-1."),
    workers: int | None = typer.Option(
        None, "--workers", help="Run files on a dask LocalCluster with N workers."
    ),
    scheduler: str | None = typer.Option(
        None, "--scheduler", help="Connect to a dask scheduler ADDRESS."
    ),
    skip_bad_files: bool = typer.Option(
        False,
        "--skip-bad-files",
        help="With --workers/--scheduler: leave out files that cannot be read, each named (with "
        "why) in a warning, result.json and result.md, instead of stopping.",
    ),
    objects: str = typer.Option(
        "offline", "--objects", help="NanoAOD objects: offline or trigobj."
    ),
    l1_seeds: str = typer.Option(
        "emulated",
        "--l1-seeds",
        help="NanoAOD agreement: seed the HLT paths with the menu's emulated "
        "L1 or the file's recorded L1_* bits.",
    ),
    l1_jets: str = typer.Option(
        "auto",
        "--l1-jets",
        help="NanoAOD agreement: L1 seeds read the offline jets (offline), L1 jets derived from "
        "them with the L1 response measured on the file's TrigObj (derived), or derived where "
        "the file has TrigObj L1 jets and offline otherwise (auto).",
    ),
    bench_json: Path | None = typer.Option(
        None, "--bench-json", help="`trigkit bench gpu` JSON for HLT latency."
    ),
    batch_size: int | None = typer.Option(
        None,
        "--hlt-batch",
        "--batch-size",
        help="Pool events into runner batches of N jets for the HLT GPU count "
        "(adds the batch fill time to each event's latency); default: one "
        "event per call, at the smallest measured batch >= its jets.",
    ),
    hlt_jets_quantile: float | None = typer.Option(
        None,
        "--hlt-jets-quantile",
        help="Size the per-event batch for this quantile (0-1] of tagged jets "
        "per L1-accepted event; default: the mean.",
    ),
    hlt_tagger_calls: int = typer.Option(
        1, "--hlt-tagger-calls", help="Tagger invocations per HLT event."
    ),
    runner: str | None = typer.Option(
        None, "--runner", help="Runner (contender) in the bench JSON; default fastest."
    ),
    hlt_latency_ms: float | None = typer.Option(
        None, "--hlt-latency-ms", help="Runner latency per batch (ms) if no JSON."
    ),
    hlt_budget_ms: float = typer.Option(
        500.0, "--hlt-budget-ms", help="HLT per-event time budget (ms)."
    ),
    l1_latency_cycles: int | None = typer.Option(
        None,
        "--l1-latency-cycles",
        help="L1 tagger firmware latency (cycles); default: the --l1-bundle estimate.",
    ),
    l1_clock_mhz: float | None = typer.Option(
        None,
        "--l1-clock-mhz",
        help="L1 firmware clock (MHz); default: the --l1-bundle clock, else 240.",
    ),
    btag_bundle: Path | None = typer.Option(
        None, "--btag-bundle", help="GPU bundle scoring jets.btag (onnxruntime)."
    ),
    btag_model: Path | None = typer.Option(
        None, "--btag-model", help="Saved b-tag model: features + preprocessing."
    ),
    btag_feature_map: Path | None = typer.Option(
        None,
        "--feature-map",
        "--btag-feature-map",
        help="YAML/JSON: which jet field feeds each input of a --btag-bundle trained "
        "elsewhere (pt, eta, mass, tracks.d0_sig[0], ...).",
    ),
    l1_bundle: Path | None = typer.Option(
        None, "--l1-bundle", help="FPGA bundle scoring jets.l1_score (bit-exact)."
    ),
    l1_model: Path | None = typer.Option(
        None, "--l1-model", help="Saved L1 model: features + preprocessing."
    ),
    l1_feature_map: Path | None = typer.Option(
        None,
        "--l1-feature-map",
        help="YAML/JSON: which jet field feeds each input of an --l1-bundle trained elsewhere.",
    ),
    xbb_bundle: Path | None = typer.Option(
        None,
        "--xbb-bundle",
        help="GPU bundle of an Xbb tagger (trigkit's own, or trained elsewhere with "
        "--xbb-feature-map) scoring fatjets.xbb (onnxruntime).",
    ),
    xbb_feature_map: Path | None = typer.Option(
        None,
        "--xbb-feature-map",
        help="YAML/JSON: which large-R jet field feeds each input of the --xbb-bundle "
        "(pt, msd, tau21, constituents.pt, ...).",
    ),
    l1_overhead_ns: list[str] = typer.Option(
        [], "--l1-overhead-ns", help="NAME=NS fixed L1 overhead (repeatable)."
    ),
    era: str = typer.Option(
        "run3", "--era", help="run3 (4 us, 100 kHz) or phase2 (12.5 us, 750 kHz)."
    ),
    l1_accept_khz: float | None = typer.Option(
        None,
        "--l1-accept-khz",
        help="L1 accept rate the HLT GPUs must sustain (kHz); default: the --era's.",
    ),
    prescale_mode: str = typer.Option(
        "counter",
        "--prescale-mode",
        help="counter: prescale counters keep every N-th event (as the "
        "hardware); expected: weight each event by its probability of "
        "surviving the prescales (smooth rates/efficiencies on weighted MC).",
    ),
    no_plots: bool = typer.Option(False, "--no-plots", help="Skip the PNG plots."),
) -> None:
    """Emulate a trigger menu on signal/background (or NanoAOD) events: efficiencies, \
rates, budgets."""
    from rich.console import Console

    from trigkit.emulator.api import BudgetRequest, EmulateRequest, run_emulation
    from trigkit.report.tables import to_rich
    from trigkit.report.write import all_tables, write_report

    signal, background, nanoaod = split_file_args(list(ctx.args))
    req = EmulateRequest(
        menu=menu,
        signal=tuple(signal),
        background=tuple(background),
        nanoaod=tuple(nanoaod),
        objects=objects,
        l1_seeds=l1_seeds,
        l1_jets=l1_jets,
        inst_lumi=lumi,
        workers=workers,
        scheduler=scheduler,
        skip_bad_files=skip_bad_files,
        btag_bundle=btag_bundle,
        btag_model=btag_model,
        btag_feature_map=btag_feature_map,
        l1_feature_map=l1_feature_map,
        l1_bundle=l1_bundle,
        l1_model=l1_model,
        xbb_bundle=xbb_bundle,
        xbb_feature_map=xbb_feature_map,
        prescale_mode=prescale_mode,
        budget=BudgetRequest(
            era=era,
            l1_latency_cycles=l1_latency_cycles,
            l1_clock_mhz=l1_clock_mhz,
            l1_overheads_ns=_overheads(l1_overhead_ns),
            bench_json=bench_json,
            batch_size=batch_size,
            runner=runner,
            hlt_latency_ms=hlt_latency_ms,
            hlt_budget_ms=hlt_budget_ms,
            l1_accept_hz=None if l1_accept_khz is None else l1_accept_khz * 1e3,
            hlt_jets_quantile=hlt_jets_quantile,
            hlt_tagger_calls=hlt_tagger_calls,
        ),
    )
    console = Console()
    with console.status("emulating menu...") as status:
        res, agreement = run_emulation(req, progress=lambda p: status.update(f"done {p}"))
        written = write_report(out, res, agreement, plots=not no_plots)
    for table in to_rich(all_tables(res, agreement)):
        console.print(table)
    console.print(f"wrote {len(written)} files to {out}")


def register(app: typer.Typer) -> None:
    app.command(
        "emulate",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
        epilog=EPILOG,
    )(emulate)
