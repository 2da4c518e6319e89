"""bench/results/{emulator,firmware,firmware_rtl_*,generator,importers_mlp,taggers,
int8_auc,demo}.json: made by code in this history, ratios that follow from their raw
numbers, and the README quoting exactly these numbers (every number the README's
benchmark table takes from them; the tagger, INT8 and demo ones on Pythia events)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from trigkit.benchmarks import provenance as prov

ROOT = Path(__file__).parents[2]
RESULTS = ROOT / "bench" / "results"


def _load(name: str) -> dict:
    return json.loads((RESULTS / f"{name}.json").read_text())


def _readme() -> str:
    return " ".join((ROOT / "README.md").read_text().split())


RTL = ("firmware_rtl_sparsity0.5_cutoff5", "firmware_rtl_sparsity0.75_cutoff8")
REGENERATED = [
    "emulator",
    "firmware",
    *RTL,
    "generator",
    "importers_mlp",
    "taggers",
    "int8_auc",
    "demo",
]


@pytest.mark.parametrize("name", REGENERATED)
def test_made_by_this_code_history(name: str) -> None:
    p = _load(name)["provenance"]
    assert p["git_dirty"] is False and len(p["loadavg"]) == 3 and p["cpu_count"] >= 1
    if prov.git_commit() is not None:
        ancestor = prov._is_ancestor(p["git_commit"], prov.git_commit())
        if ancestor is None:  # a shallow clone that lacks the commit: git cannot tell
            pytest.skip(f"git does not know commit {p['git_commit'][:10]} (shallow clone?)")
        assert ancestor is True


def emulator_claims(r: dict) -> list[str]:
    fused = r["n_events"] / r["fused_1thread_s"]
    all_threads = r["n_events"] / r["fused_all_s"]
    return [
        f"{fused / 1e6:.1f} M events/s on 1 thread",
        f"{r['n_events'] / r['fused_1thread_cpu_s'] / 1e6:.1f} M events per CPU second",
        f"{all_threads / 1e6:.1f} M/s on {r['threads']} threads",
        f"{fused / (r['awkward_events'] / r['awkward_s']):.0f}× naive awkward",
        f"{fused / (r['awkward_events'] / r['awkward_careful_s']):.0f}× careful awkward",
        f"{fused / (r['numpy_events'] / r['numpy_s']):.0f}× numpy",
        f"{r['memory_floor_s'] / r['fused_1thread_s']:.0%} of the memory floor",
        f"a numpy read of the same {r['bytes_per_event'] * r['n_events'] / 1e6:.0f} MB",
        f"{r['stream_floor_s'] / r['fused_1thread_s']:.0%} of a numba read streaming them",
        f"empty body) at {r['memory_floor_s'] / r['skeleton_s']:.0%} of the numpy floor",
        f"load {r['provenance']['loadavg'][0]:.1f} | ≥ 10× awkward",
    ]


def firmware_claims(r: dict) -> list[str]:
    return [
        f"{r['hls4ml_s'] / r['emulator_s']:.1f}× on {r['threads']} numba threads",
        f"{r['hls4ml_s'] / r['emulator_1thread_s']:.1f}× per core",
        f"{r['hls4ml_cpu_s'] / r['emulator_1thread_cpu_s']:.1f}× per core on CPU seconds",
        f"emulator {r['n_inputs'] / r['emulator_s'] / 1e3:,.0f} k inputs/s",
        f"hls4ml {r['n_inputs'] / r['hls4ml_s'] / 1e3:,.1f} k/s",
        f"load {r['provenance']['loadavg'][0]:.1f} | ≥ 20×",
    ]


def rtl_claims(r: dict) -> list[str]:
    sim, syn = r["rtl"]["sim"], r["rtl"]["synth"]
    return [
        f"{r['sparsity']:.0%} of the weights pruned at random, da4ml pipeline cutoff "
        f"{r['latency_cutoff']:g} adders/stage",
        f"{sim['latency_cycles']} cycles = {sim['latency_cycles'] * sim['clock_period_ns']:g} ns, "
        f"II {sim['ii']}, {syn['lut'] / 1e3:.1f}k LUT, {syn['ff'] / 1e3:.1f}k FF, {syn['dsp']} DSP",
        f"Verilator bit-exact on {sim['n_samples']:,} rows ({sim['mismatches']} mismatches)",
        f"--latency-cutoff {r['latency_cutoff']:g}`) | {sim['latency_cycles']} cycles",
        f"2-core dev box, load {r['provenance']['loadavg'][0]:.1f} |",
    ]


def importers_claims(r: dict) -> list[str]:
    return [
        f"{r['emulation_vs_csim_mismatches']} of {r['rows']:,} rows differ",
        f"accuracy {100 * r['firmware_accuracy']:.2f} % vs {100 * r['float_accuracy']:.2f} % float",
        f"fpga bundle in {r['fpga_bundle_seconds']:.1f} s ({r['fpga_bundle_cpu_seconds']:.1f} "
        f"CPU-s; the first compile after an install {r['fpga_bundle_cold_seconds']:.1f} s, "
        f"{r['fpga_bundle_cold_cpu_seconds']:.1f} CPU-s), gpu bundle in "
        f"{r['gpu_bundle_seconds']:.1f} s",
    ]


def generator_claims(r: dict) -> list[str]:
    by = {c["threads"]: c for c in r["contenders"]}
    out = [f"{60 * by[1]['events'] / by[1]['seconds'] / 1e6:.2f} M events/min on 1 thread"]
    top = max(by)
    if top > 1:
        rate = 60 * by[top]["events"] / by[top]["seconds"]
        out.append(f"{rate / 1e6:.2f} M/min on {top} threads")
        out.append(f"{rate / top / 1e6:.2f} M/min per core")
    return out + [f"load {r['provenance']['loadavg'][0]:.1f} | ≥ 1 M/min"]


def _rejection(r: dict) -> str:
    if r["is_lower_bound"]:
        return f"> {r['value']:.0f}"
    return f"{r['value']:.1f} [{r['low']:.1f}, {r['high']:.1f}]"


def taggers_claims(r: dict) -> list[str]:
    out = []
    for row in r["results"]:
        model, base = row["evaluation"]["rows"][:2]
        for eff in sorted({f"{row['signal_eff']:g}", "0.7"}):  # the headline and 70 %
            out.append(
                f"{_rejection(model['rejection'][eff])} vs {_rejection(base['rejection'][eff])}"
            )
        out.append(f"AUC {model['auc']:.4f} vs {base['auc']:.4f}")
        if "compression" in row:
            out.append(f"AUC {model['auc']:.4f} → {row['compression']['test']['auc']:.4f}")
    return out


def int8_auc_claims(r: dict) -> list[str]:
    return [
        f"{100 * row['auc_relative_change_vs_fp32']:+.3f} % ({row['calibration']})"
        for row in r["rows"]
        if row["precision"] == "int8" and "auc_test" in row
    ]


def demo_claims(r: dict) -> list[str]:
    cold, warm = r["runs"]
    out = [f"{cold['wall_s'] / 60:.1f} min with a cold cache", f"{warm['wall_s'] / 60:.1f} min"]
    for c, w in zip(cold["stages"], warm["stages"], strict=True):
        out.append(
            f"| {c['stage']} | {c['wall_s']:.0f} | {c['cpu_s']:.0f} | {w['wall_s']:.0f} | "
            f"{w['cpu_s']:.0f} |"
        )
    return out


def test_tagger_and_int8_results_are_pythia_and_consistent() -> None:
    t = _load("taggers")
    assert t["events"]["engine"] == "pythia"
    for row in t["results"]:
        eff = f"{row['signal_eff']:g}"
        model, base = row["evaluation"]["rows"][:2]
        ratio = model["rejection"][eff]["value"] / base["rejection"][eff]["value"]
        assert math.isclose(row["ratio"], ratio)
        for tagger in (model, base):
            rej = tagger["rejection"][eff]
            if not rej["is_lower_bound"]:
                assert rej["n_pass"] >= 100 and rej["low"] < rej["value"] < rej["high"]
    i = _load("int8_auc")
    assert i["events"]["engine"] == "pythia"
    ref = next(row["auc_test"] for row in i["rows"] if row["precision"] == "fp32")
    for row in i["rows"]:
        if "auc_test" in row:
            assert math.isclose(row["auc_relative_change_vs_fp32"], (row["auc_test"] - ref) / ref)


def test_demo_result_is_the_default_demo() -> None:
    d = _load("demo")
    cold, warm = d["runs"]
    assert d["demo_args"] == [] and cold["engine"]["name"] == "pythia"
    assert not any(s["cache_hit"] for s in cold["samples"])
    assert all(s["cache_hit"] for s in warm["samples"])


def test_readme_demo_output_is_real() -> None:
    """Every line of the README's demo console block is a line the warm demo run printed."""
    text = (ROOT / "README.md").read_text()
    start = text.index("$ trigkit demo --out demo-out")
    block = text[start : text.index("```", start)].splitlines()[1:]
    printed = set(_load("demo")["runs"][1]["output"])
    assert len(block) >= 10
    assert [line for line in block if line not in printed and line != "..."] == []


def test_ratios_follow_from_timings() -> None:
    e = _load("emulator")
    fused = e["n_events"] / e["fused_1thread_s"]
    assert math.isclose(e["speedup_per_core"], fused / (e["awkward_events"] / e["awkward_s"]))
    assert math.isclose(
        e["ratios_per_core"]["fused_1thread_vs_numpy"], fused / (e["numpy_events"] / e["numpy_s"])
    )
    assert math.isclose(e["memory_floor_fraction"], e["memory_floor_s"] / e["fused_1thread_s"])
    assert math.isclose(e["stream_floor_fraction"], e["stream_floor_s"] / e["fused_1thread_s"])
    assert math.isclose(e["skeleton_floor_fraction"], e["memory_floor_s"] / e["skeleton_s"])
    assert e["identical"] is True
    f = _load("firmware")
    assert math.isclose(f["speedup_per_core"], f["hls4ml_s"] / f["emulator_1thread_s"])
    assert math.isclose(f["speedup_per_core_cpu"], f["hls4ml_cpu_s"] / f["emulator_1thread_cpu_s"])
    assert f["mismatching_samples"] == 0
    g = _load("generator")
    assert g["identical"] is True


@pytest.mark.parametrize(
    "name, claims",
    [
        ("emulator", emulator_claims),
        ("firmware", firmware_claims),
        ("generator", generator_claims),
        *((name, rtl_claims) for name in RTL),
        ("importers_mlp", importers_claims),
        ("taggers", taggers_claims),
        ("int8_auc", int8_auc_claims),
        ("demo", demo_claims),
    ],
)
def test_readme_quotes_these_files(name: str, claims) -> None:  # noqa: ANN001
    text = _readme()
    for claim in claims(_load(name)):
        assert claim in text, f"README does not say '{claim}' (from bench/results/{name}.json)"
