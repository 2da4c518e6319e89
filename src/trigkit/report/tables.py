"""Result tables: one :class:`Table` per topic, rendered as Markdown or as rich terminal tables."""

from __future__ import annotations

import math
from dataclasses import dataclass

from trigkit.emulator.budget import BudgetTable
from trigkit.emulator.nanoaod import AGREE_CL, NanoAgreement
from trigkit.emulator.result import OR_NAME, RATE_UL_CL, MenuResult, RateSummary


@dataclass(frozen=True)
class Table:
    title: str
    headers: tuple[str, ...]
    rows: list[tuple[str, ...]]


def _pct(v: float) -> str:
    return "-" if not math.isfinite(v) else f"{100 * v:.2f}"


def _hz(v: float) -> str:
    if not math.isfinite(v):
        return "-"
    return f"{v:.3g}" if v < 1e4 else f"{v:.4g}"


def prescale_note(mode: str) -> str:
    """One line saying how prescales entered the numbers (result.md header,
    expected-mode titles)."""
    if mode == "expected":
        return (
            "expected (each event weighted by its probability of surviving the L1 and HLT "
            "prescales, independent prescalers)"
        )
    return "counter (prescale counters keep every N-th event, as the hardware)"


def _mode_suffix(res: MenuResult) -> str:
    return (
        "; prescales: expected (survival-probability weights)"
        if res.prescale_mode == "expected"
        else ""
    )


_UL_NOTE = f"; '< x': {100 * RATE_UL_CL:.0f}% CL upper limit where no event passed"


def _rate_cells(r: RateSummary) -> tuple[str, str]:
    """(rate, error) cells: "< x" and "-" instead of "0" and "0" where no event passed."""
    if math.isfinite(r.upper_hz):
        return f"< {_hz(r.upper_hz)}", "-"
    return _hz(r.rate_hz), _hz(r.error_hz)


def efficiency_table(res: MenuResult) -> Table:
    headers = (
        "path",
        *(
            f"{s.name} {'weighted ' if s.weighted else ''}eff % [{100 * res.cl:.0f}% CL]"
            for s in res.signals
        ),
    )
    rows = []
    for name in (*res.hlt_names, OR_NAME, *res.l1_names, "L1 OR"):
        cells = []
        for s in res.signals:
            e = s.efficiency[name]
            cells.append(f"{_pct(e.value)} [{_pct(e.low)}, {_pct(e.high)}]")
        rows.append((name, *cells))
    title = "Signal efficiency (Clopper-Pearson"
    if any(s.weighted for s in res.signals):
        title += (
            "; weighted samples: sum w_pass / sum w, interval on effective counts "
            "(sum w)^2 / sum w^2"
        )
    return Table(title + _mode_suffix(res) + ")", headers, rows)


def rate_table(res: MenuResult) -> Table:
    rows = []
    for name in (*res.hlt_names, OR_NAME, *res.l1_names, "L1 OR"):
        r = res.rates[name]
        rate, err = _rate_cells(r)
        rows.append((name, rate, err, _hz(r.pure_hz), _hz(r.shared_hz)))
    return Table(
        f"Background rate at L = {res.inst_lumi:.3g} cm^-2 s^-1 (Hz){_UL_NOTE}{_mode_suffix(res)}",
        ("path", "rate", "stat. error", "pure (unique)", "shared"),
        rows,
    )


def sample_rate_table(res: MenuResult) -> Table:
    """Each background sample's contribution (rate +- stat. error, Hz) to every trigger."""
    names = list(res.sample_rates)
    rows: list[tuple[str, ...]] = []
    for name in (*res.hlt_names, OR_NAME, *res.l1_names, "L1 OR"):
        cells = []
        for s in names:
            r = res.sample_rates[s][name]
            rate, err = _rate_cells(r)
            cells.append(rate if math.isfinite(r.upper_hz) else f"{rate} ± {err}")
        rows.append((name, *cells))
    return Table(
        f"Background rate by sample at L = {res.inst_lumi:.3g} cm^-2 s^-1 (Hz){_UL_NOTE}",
        ("path", *names),
        rows,
    )


def scores_table(res: MenuResult) -> Table:
    """Where the tagger scores the menu cuts on came from, per sample (stand-ins are named)."""
    rows: list[tuple[str, ...]] = []
    by_key: dict[tuple[str, str], list[str]] = {}
    for s in res.samples:
        for field, desc in s.scores.items():
            by_key.setdefault((field, desc), []).append(s.name)
    for (field, desc), samples in by_key.items():
        rows.append((field, ", ".join(samples), desc))
    return Table("Tagger scores", ("score", "samples", "source"), rows)


def l1_objects_table(res: MenuResult) -> Table:
    """Which jets the L1 seeds' jet and HT cuts read, per sample: the events' Level-1 jets or,
    when they have none (toy generator, NanoAOD, user files), the offline jets; and what the L1
    tagger cuts read: the L1 jets with L1 tracks, or the offline stand-in ("-": no such cut)."""
    by_objects: dict[tuple[str, str], list[str]] = {}
    for s in res.samples:
        by_objects.setdefault((s.l1_objects, s.l1_tagger or "-"), []).append(s.name)
    rows = [(*objs, ", ".join(samples)) for objs, samples in by_objects.items()]
    return Table("L1 seed jets", ("l1_objects", "l1_tagger", "samples"), rows)


def overlap_table(res: MenuResult) -> Table:
    short = [f"[{i}]" for i in range(len(res.hlt_names))]
    rows = []
    for i, name in enumerate(res.hlt_names):
        rows.append(
            (f"[{i}] {name}", *(_pct(float(res.overlap[i, j])) for j in range(len(res.hlt_names))))
        )
    return Table(
        "Background overlap: % of row path's rate also accepted by column path",
        ("path", *short),
        rows,
    )


def budget_table(b: BudgetTable) -> Table:
    rows: list[tuple[str, ...]] = []
    if b.l1 is not None:
        for what, ns in b.l1.rows():
            rows.append(("L1", what, f"{ns:.1f} ns"))
        verdict = "fits" if b.l1.fits else "EXCEEDS"
        rows.append(
            (
                "L1",
                f"total vs budget {b.l1.budget_ns:.0f} ns",
                f"{b.l1.total_ns:.1f} ns ({verdict})",
            )
        )
    if b.l1_rate is not None:
        r = b.l1_rate
        verdict = f"EXCEEDS, x{r.ratio:.3g}" if r.exceeds else "fits"
        rows.append(
            (
                "L1",
                f"L1 OR rate vs {r.l1_accept_hz / 1e3:.4g} kHz L1 accept",
                f"{r.l1_or_hz / 1e3:.4g} ± {r.l1_or_error_hz / 1e3:.2g} kHz ({verdict})",
            )
        )
    if b.hlt is not None:
        h = b.hlt
        jets = f"mean {h.jets_per_event:.2f}" + (
            "" if h.jets_quantile is None else f", q{h.jets_quantile:g} {h._event_jets:.0f}"
        )
        rows.append(
            ("HLT", f"tagged jets per L1-accepted event ({jets})", f"-> batch {h._event_batch}")
        )
        rows.append(
            (
                "HLT",
                f"(a) tagger, one event per call: {h.event_calls} x runner latency at batch "
                f"{h._event_batch} ({h.event_latency_source or h.latency_source})",
                f"{h.event_tagger_ms:.4g} ms",
            )
        )
        if h.pooled:
            rows.append(
                (
                    "HLT",
                    f"batch fill time: {h.batch_size} jets / ({h.jets_per_event:.2f} jets/event x "
                    f"{h.l1_accept_hz / 1e3:.4g} kHz)",
                    f"{h.fill_ms:.4g} ms",
                )
            )
            rows.append(
                (
                    "HLT",
                    f"runner latency at pooled batch {h.batch_size} ({h.latency_source}) "
                    f"x {h._calls(h.batch_size)}",
                    f"{h.tagger_ms - h.fill_ms:.4g} ms",
                )
            )
        rows.append(("HLT", "fixed overhead per event", f"{h.overhead_ms:.4g} ms"))
        verdict = "fits" if h.fits else "EXCEEDS"
        what = "fill + pooled batch + overhead" if h.pooled else "tagger + overhead"
        rows.append(
            (
                "HLT",
                f"(a) latency added to an event ({what}) vs budget {h.budget_ms:.4g} ms",
                f"{h.total_ms:.4g} ms ({verdict})",
            )
        )
        how = (
            f"{h.tagger_calls} x {h.batch_latency_ms:.4g} ms x {h.jets_per_event:.2f} jets / "
            f"{h.batch_size}, amortised"
            if h.pooled
            else "one event per call"
        )
        rows.append(
            (
                "HLT",
                f"(b) GPU time per event at batch {h.batch_size} ({how})",
                f"{h.gpu_ms_per_event:.4g} ms",
            )
        )
        rows.append(
            (
                "HLT",
                f"(b) GPUs for {h.l1_accept_hz / 1e3:.0f} kHz L1 accept at batch {h.batch_size} "
                f"(<= {100 * h.max_utilisation:.0f}% busy)",
                str(h.gpus_needed),
            )
        )
    return Table("Latency budget", ("level", "item", "value"), rows)


def agreement_table(a: NanoAgreement) -> Table:
    rows = []
    for p in a.paths:
        c = p.confusion
        lo, hi = p.interval
        agree = f"{100 * p.agree:.1f} [{100 * lo:.1f}, {100 * hi:.1f}]"
        rows.append((p.name, agree, str(c[1, 1]), str(c[0, 0]), str(c[0, 1]), str(c[1, 0])))
    # menu triggers the file has no bit for: listed, so that a reader sees they were not compared
    rows += [(name, "no recorded bit", "-", "-", "-", "-") for name in a.not_recorded]
    return Table(
        f"Agreement with recorded bits ({a.objects} objects, {a.l1_seeds} L1 seeds, "
        f"{a.l1_jets} L1 jets, {a.source})",
        (
            "path",
            f"agree % [{100 * AGREE_CL:.0f}% CL]",
            "both pass",
            "both fail",
            "emulated only",
            "recorded only",
        ),
        rows,
    )


def skipped_files_table(res: MenuResult) -> Table:
    """The files a ``--skip-bad-files`` run left out: their events are in no number below."""
    return Table(
        f"Skipped files ({len(res.skipped_files)}: unreadable, left out of every number)",
        ("file", "reason"),
        [(f.path, f.reason) for f in res.skipped_files],
    )


def result_tables(res: MenuResult) -> list[Table]:
    out = [skipped_files_table(res)] if res.skipped_files else []
    if any(s.scores for s in res.samples):
        out.append(scores_table(res))
    if res.samples:
        out.append(l1_objects_table(res))
    if res.signals:
        out.append(efficiency_table(res))
    if res.rates:
        out.append(rate_table(res))
        if len(res.sample_rates) > 1:
            out.append(sample_rate_table(res))
        out.append(overlap_table(res))
    if isinstance(res.budget, BudgetTable):
        out.append(budget_table(res.budget))
    return out


def to_markdown(tables: list[Table]) -> str:
    parts = []
    for t in tables:
        lines = [
            f"### {t.title}",
            "",
            "| " + " | ".join(t.headers) + " |",
            "|" + "---|" * len(t.headers),
        ]
        lines += ["| " + " | ".join(r) + " |" for r in t.rows]
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def to_rich(tables: list[Table]) -> list[object]:
    from rich.table import Table as RichTable

    out = []
    for t in tables:
        rt = RichTable(title=t.title, show_lines=False)
        for i, h in enumerate(t.headers):
            rt.add_column(h, justify="left" if i == 0 else "right")
        for r in t.rows:
            rt.add_row(*r)
        out.append(rt)
    return out
