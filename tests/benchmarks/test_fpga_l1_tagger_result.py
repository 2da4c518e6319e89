"""bench/results/fpga_l1_tagger/: the README row and bench/results/fpga_l1_tagger.md quote the
trained L1 tagger's stored `trigkit report` / RTL outputs, and the goal verdict follows from them
(every design of the depth search, not only the pick)."""

from __future__ import annotations

import json
import math
from pathlib import Path

ROOT = Path(__file__).parents[2]
DIR = ROOT / "bench" / "results" / "fpga_l1_tagger"
GOAL_NS = 30.0


def _load(name: str) -> dict:
    return json.loads((DIR / name).read_text())


def _flat(path: Path) -> str:
    return " ".join(path.read_text().split())


def _thin(n: int) -> str:
    """1234 -> '1 234' (the thousands spacing of the README and the details file)."""
    return f"{n:,}".replace(",", " ")


def test_pick_is_the_fewest_stages_that_meet_the_clock() -> None:
    rtl = _load("rtl_report_B_auto.json")
    period = rtl["sim"]["clock_period_ns"]
    allowed = period * (1 - rtl["timing"]["uncertainty"])
    trials = rtl["cutoff_search"]
    for t in trials:  # each trial's verdict against its own path
        assert t["meets"] == (t["critical_path_ns"] <= allowed)
    meeting = [t["stages"] for t in trials if t["meets"]]
    assert rtl["design"]["stages"] == min(meeting)
    assert rtl["sim"]["latency_cycles"] == rtl["design"]["stages"] + 1  # + the output register
    assert rtl["sim"]["ii"] == 1 and rtl["sim"]["mismatches"] == 0
    assert math.isclose(
        rtl["timing"]["critical_path_ns"],
        min(t["critical_path_ns"] for t in trials if t["stages"] == rtl["design"]["stages"]),
    )


def test_readme_and_details_quote_the_stored_outputs() -> None:
    rtl = _load("rtl_report_B_auto.json")
    rep = _load("report_B_rtl_auto.json")
    vs_float = _load("report_B_vs_l1pt.json")["accuracy"]
    cycles = rtl["sim"]["latency_cycles"]
    ns = cycles * rtl["sim"]["clock_period_ns"]
    path = rtl["timing"]["critical_path_ns"]
    slack = rep["timing"][0]["slack_ns"]
    allowed = rtl["sim"]["clock_period_ns"] * (1 - rtl["timing"]["uncertainty"])
    assert math.isclose(slack, allowed - path)
    goal_stages = int(GOAL_NS / rtl["sim"]["clock_period_ns"]) - 1
    best_at_goal = min(
        t["critical_path_ns"] for t in rtl["cutoff_search"] if t["stages"] == goal_stages
    )
    claims = [
        f"**{cycles} cycles = {ns:.0f} ns** (goal missed: {cycles - 1} cycles = {GOAL_NS:.0f} ns "
        f"has a {best_at_goal:.2f} ns critical path)",
        f"critical path {path:.3f} ns vs {allowed:.1f} ns allowed",
        f"slack +{slack:.2f} ns",
        f"{rtl['synth']['lut'] / 1000:.1f}k LUT, {rtl['synth']['ff'] / 1000:.1f}k FF, "
        f"{rtl['synth']['dsp']} DSP",
        f"accuracy {100 * vs_float['firmware_accuracy']:.2f} % vs "
        f"{100 * vs_float['float_accuracy']:.2f} % float on {_thin(vs_float['n'])} jets",
    ]
    readme = _flat(ROOT / "README.md")
    for claim in claims:
        assert claim in readme, f"README does not say '{claim}'"
    assert ns > GOAL_NS and best_at_goal > allowed  # the row says the goal is missed: it is
    details = _flat(ROOT / "bench" / "results" / "fpga_l1_tagger.md")
    for claim in (
        f"{cycles} cycles = {ns:.0f} ns at 200 MHz, II 1, critical path {path:.2f} ns "
        f"(slack +{slack:.2f} ns",
        f"{_thin(rtl['synth']['lut'])} LUT, {_thin(rtl['synth']['ff'])} FF "
        f"({rtl['design']['replicated_ffs']} of them replicated",
        f"best {best_at_goal:.2f} ns after",
        f"accuracy is the firmware's {100 * vs_float['firmware_accuracy']:.2f} %",
    ):
        assert claim in details, f"fpga_l1_tagger.md does not say '{claim}'"


def test_accuracy_rows_are_the_reports() -> None:
    details = _flat(ROOT / "bench" / "results" / "fpga_l1_tagger.md")
    for tag in ("A", "B"):
        own = _load(f"report_{tag}.json")["accuracy"]
        orig = _load(f"report_{tag}_vs_l1pt.json")["accuracy"]
        assert own["firmware_accuracy"] == orig["firmware_accuracy"]  # same bundle, same rows
        assert own["emulator_mismatches"] == 0 and own["n"] == orig["n"]
        assert f"{100 * own['firmware_accuracy']:.2f} % [" in details
        assert f"({100 * own['float_accuracy']:.2f} %)" in details
        assert f"{100 * orig['float_accuracy']:.2f} % [" in details
        assert f"{100 * orig['agreement']:.2f} %" in details


def test_five_stage_design_cannot_be_balanced_under_the_clock() -> None:
    rtl = _load("rtl_report_B_5stages.json")
    allowed = rtl["sim"]["clock_period_ns"] * (1 - rtl["timing"]["uncertainty"])
    trials = rtl["cutoff_search"]
    best = min(t["critical_path_ns"] for t in trials)
    assert math.isclose(rtl["timing"]["critical_path_ns"], best)  # the kept design is the best
    assert rtl["design"]["stages"] == 5 and rtl["sim"]["latency_cycles"] == 6
    assert rtl["sim"]["mismatches"] == 0 and rtl["sim"]["ii"] == 1
    # one path per stage: the registers a stage's logic ends at (replica copies share a path)
    paths = [v for k, v in rtl["timing"]["per_register"].items() if not k.endswith("_dup")]
    assert len(paths) == rtl["design"]["stages"] and max(paths) == best
    per_stage = sum(paths) / len(paths)
    assert per_stage > allowed  # even a perfect balance would miss
    details = _flat(ROOT / "bench" / "results" / "fpga_l1_tagger.md")
    steps = ", ".join(f"{t['critical_path_ns']:.2f}" for t in trials)
    assert steps.replace(f"{best:.2f}", f"**{best:.2f}**") in details
    assert f"{sum(paths):.2f} ns in all, **{per_stage:.2f} ns per stage" in details
    assert f"({_thin(rtl['design']['replicated_ffs'])} copies)" in details
