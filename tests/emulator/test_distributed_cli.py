"""dask LocalCluster == single process; `trigkit emulate` end to end; errors leave no output."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.emulator.conftest import synthetic_batch
from trigkit.cli.app import main
from trigkit.emulator.compiled import compile_menu
from trigkit.emulator.pipeline import run_files
from trigkit.emulator.schema import load_menu


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    from trigkit.events.parquet_io import write_parquet

    d = tmp_path_factory.mktemp("events")
    out = {}
    for name, batch in (
        ("hh4b", synthetic_batch(600, 11, signal=True)),
        ("qcd", synthetic_batch(800, 12)),
        ("ttbar", synthetic_batch(500, 13)),
    ):
        out[name] = d / f"{name}.parquet"
        write_parquet([batch[:300], batch[300:]], out[name])  # two chunks per file
    return out


def test_localcluster_equals_single_process(files) -> None:
    pytest.importorskip("distributed")
    from trigkit.emulator.distributed import run_files_distributed

    menu = load_menu("run3_hh4b").model_copy(
        update={
            "hlt": {
                k: v.model_copy(update={"prescale": 3}) if i == 0 else v
                for i, (k, v) in enumerate(load_menu("run3_hh4b").hlt.items())
            }
        }
    )
    paths = [files["hh4b"], files["qcd"], files["ttbar"]]
    single = run_files(compile_menu(menu), paths)
    dist = run_files_distributed(menu, paths, workers=2, processes=False)
    assert [s.name for s in dist] == [s.name for s in single]
    for a, b in zip(single, dist, strict=True):
        np.testing.assert_array_equal(a.decisions.hlt, b.decisions.hlt)
        np.testing.assert_array_equal(a.decisions.l1, b.decisions.l1)
        np.testing.assert_array_equal(a.weight, b.weight)
        assert a.decisions.hlt.any()


def test_cli_end_to_end(files, tmp_path, capsys) -> None:
    out = tmp_path / "result"
    rc = main(
        [
            "emulate",
            "--menu",
            "run3_hh4b",
            "--signal",
            str(files["hh4b"]),
            "--background",
            str(files["qcd"]),
            str(files["ttbar"]),
            "--out",
            str(out),
            "--lumi",
            "1e34",
            "--l1-latency-cycles",
            "48",
            "--l1-overhead-ns",
            "links=1500",
            "--hlt-latency-ms",
            "3",
            "--batch-size",
            "256",
        ]
    )
    assert rc == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "eff_hh4b_ht.png",
        "eff_hh4b_lead_pt.png",
        "eff_hh4b_mhh.png",
        "rates.png",
        "result.json",
        "result.md",
    ]
    data = json.loads((out / "result.json").read_text())
    assert data["menu"] == "run3_hh4b" and data["inst_lumi_cm2s"] == 1e34
    assert [s["name"] for s in data["samples"]] == ["hh4b", "qcd", "ttbar"]
    eff = data["signal"][0]["efficiency"]["OR"]
    assert eff["total"] == 600 and 0 < eff["passed"] < 600
    assert data["budget"]["l1"]["total_ns"] == pytest.approx(48 / 0.24 + 1500)
    # rates recomputed independently from the per-sample decisions in single-process mode
    samples = run_files(compile_menu(load_menu("run3_hh4b")), [files["qcd"], files["ttbar"]])
    w = np.concatenate([s.weight / s.lumi_pb for s in samples]) * 1e34 * 1e-36
    acc = np.concatenate([s.decisions.hlt_accept for s in samples])
    assert data["rates_hz"]["OR"]["rate"] == pytest.approx(w[acc].sum())
    printed = capsys.readouterr().out
    assert "Signal efficiency" in printed and "Latency budget" in printed
    assert "HLT_PFHT280_QuadPFJet30_PNet2BTagMean0p55" in (out / "result.md").read_text()


def test_cli_bad_menu_one_line_and_no_output(files, tmp_path, capsys) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: b\nl1:\n  L1_A: {ht: {minn: 3}}\nhlt: {H: {ht: {min: 1}}}\n")
    out = tmp_path / "o"
    rc = main(["emulate", "--menu", str(bad), "--signal", str(files["hh4b"]), "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert rc == 1 and err.count("\n") == 0
    assert (
        "line 3" in err
        and "unknown key 'minn'" in err
        and "allowed keys: min, jet_pt, jet_abs_eta" in err
    )
    assert not out.exists() and list(tmp_path.iterdir()) == [bad]


def test_cli_bad_events_one_line_and_existing_output_kept(files, tmp_path, capsys) -> None:
    out = tmp_path / "o"
    out.mkdir()
    (out / "keep.txt").write_text("old")
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not parquet at all")
    for args in (
        ["--signal", str(broken)],
        ["--signal", str(tmp_path / "missing.parquet")],
        [str(files["hh4b"])],
        ["--signall", str(files["hh4b"])],
    ):
        rc = main(["emulate", "--menu", "run3_hh4b", *args, "--out", str(out)])
        err = capsys.readouterr().err.strip()
        assert rc == 1 and err.startswith("error:") and "\n" not in err, err
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.parquet", "o"]


def test_cli_menu_missing_score_field(files, tmp_path, capsys) -> None:
    menu = tmp_path / "m.yaml"
    menu.write_text(
        "name: m\nl1: {A: {ht: {min: 10}}}\n"
        "hlt: {H: {seeds: [A], btag_count: {field: deepjet, wp: 0.5}}}\n"
    )
    rc = main(
        [
            "emulate",
            "--menu",
            str(menu),
            "--signal",
            str(files["hh4b"]),
            "--out",
            str(tmp_path / "o"),
        ]
    )
    err = capsys.readouterr().err
    assert rc == 1 and "no field 'deepjet'" in err and not (tmp_path / "o").exists()


def test_budget_options_are_checked_before_any_event_is_read(files, tmp_path, monkeypatch) -> None:
    import trigkit.emulator.api as api
    from trigkit.core.errors import TrigkitError
    from trigkit.emulator.api import BudgetRequest, EmulateRequest, run_emulation

    def no_events(*a, **k):
        raise AssertionError("events were read before the budget options were checked")

    monkeypatch.setattr(api, "run_files", no_events)
    bench = tmp_path / "bench.json"
    bench.write_text(
        json.dumps(
            {
                "points": [
                    {"contender": "x", "batch": 16, "p50_us": 50.0},
                    {"contender": "x", "batch": 256, "p50_us": 70.0},
                ]
            }
        )
    )
    cases = [
        (BudgetRequest(era="run4"), "unknown era 'run4'; valid: run3, phase2"),
        (
            BudgetRequest(bench_json=bench, batch_size=3),
            "no latency measured at batch size 3; measured: 16, 256",
        ),
        (BudgetRequest(bench_json=tmp_path / "none.json"), "cannot read benchmark JSON"),
        (BudgetRequest(hlt_latency_ms=-1.0), "--hlt-latency-ms must be >= 0"),
        (BudgetRequest(l1_latency_cycles=10, l1_clock_mhz=0.0), "--l1-clock-mhz must be > 0"),
    ]
    for budget, msg in cases:
        with pytest.raises(TrigkitError, match=msg.replace("(", r"\(").replace(")", r"\)")):
            run_emulation(EmulateRequest(menu="run3_hh4b", signal=(files["hh4b"],), budget=budget))
    with pytest.raises(TrigkitError, match="--lumi must be a positive"):
        run_emulation(EmulateRequest(menu="run3_hh4b", signal=(files["hh4b"],), inst_lumi=-2e34))


def test_repeated_file_stems_get_distinct_sample_names(files, tmp_path) -> None:
    import shutil

    from trigkit.emulator.api import EmulateRequest, run_emulation

    other = tmp_path / "b"
    other.mkdir()
    shutil.copy(files["qcd"], other / "qcd.parquet")
    res, _ = run_emulation(
        EmulateRequest(
            menu="run3_hh4b",
            signal=(files["hh4b"],),
            background=(files["qcd"], other / "qcd.parquet"),
        )
    )
    assert [s.name for s in res.samples] == ["hh4b", "qcd", "qcd_2"]
    assert list(res.sample_rates) == ["qcd", "qcd_2"]
    # the same events twice: each copy gives the same rate contribution
    assert res.sample_rates["qcd"]["OR"].rate_hz == pytest.approx(
        res.sample_rates["qcd_2"]["OR"].rate_hz
    )


def test_hlt_calls_per_event_come_from_the_background_files_whatever_their_process(
    files, tmp_path
) -> None:
    """The L1 accept stream is made of the --background samples; a --signal file is not part of it
    even when its process is not hh4b (and a background file counts whatever its process)."""
    from trigkit.emulator.api import BudgetRequest, EmulateRequest, run_emulation
    from trigkit.emulator.budget import hlt_calls_per_event

    budget = BudgetRequest(hlt_latency_ms=1.0, batch_size=64)
    res, _ = run_emulation(
        EmulateRequest(
            menu="run3_hh4b", signal=(files["qcd"],), background=(files["hh4b"],), budget=budget
        )
    )
    assert res.budget.hlt.jets_per_event == pytest.approx(hlt_calls_per_event(res.samples[1:]))
    assert res.budget.hlt.jets_per_event != pytest.approx(hlt_calls_per_event(res.samples[:1]))


def test_cli_l1_accept_rate_sets_the_gpu_count(files, tmp_path) -> None:
    import math

    out = tmp_path / "r"
    rc = main(
        [
            "emulate",
            "--menu",
            "run3_hh4b",
            "--signal",
            str(files["hh4b"]),
            "--background",
            str(files["qcd"]),
            "--out",
            str(out),
            "--no-plots",
            "--hlt-latency-ms",
            "3",
            "--batch-size",
            "16",
            "--era",
            "phase2",
            "--l1-accept-khz",
            "500",
        ]
    )
    assert rc == 0
    hlt = json.loads((out / "result.json").read_text())["budget"]["hlt"]
    assert hlt["l1_accept_hz"] == 500e3
    ms = hlt["jets_per_event"] * 3.0 / 16
    assert hlt["gpu_ms_per_event"] == pytest.approx(ms)
    assert hlt["gpus_needed"] == math.ceil(500e3 * ms * 1e-3 / 0.8)
    assert hlt["gpus_needed"] != math.ceil(750e3 * ms * 1e-3 / 0.8)  # not the phase-2 default
    assert "GPUs for 500 kHz L1 accept" in (out / "result.md").read_text()
    # --batch-size (= --hlt-batch) pools events: the batch fill time is added to each event's
    # latency
    assert hlt["pooled"] and hlt["fill_ms"] == pytest.approx(
        16 / (hlt["jets_per_event"] * 500e3) * 1e3
    )
    assert hlt["total_ms"] == pytest.approx(hlt["fill_ms"] + 3.0)
    # the L1 OR rate is compared with the same accept rate
    data = json.loads((out / "result.json").read_text())
    assert data["budget"]["l1_rate"]["l1_or_hz"] == pytest.approx(data["rates_hz"]["L1 OR"]["rate"])
    assert data["budget"]["l1_rate"]["l1_accept_hz"] == 500e3
    rc = main(
        [
            "emulate",
            "--menu",
            "run3_hh4b",
            "--signal",
            str(files["hh4b"]),
            "--out",
            str(tmp_path / "bad"),
            "--hlt-latency-ms",
            "3",
            "--l1-accept-khz",
            "0",
        ]
    )
    assert rc == 1 and not (tmp_path / "bad").exists()


def test_dask_info_logs_stay_quiet_unless_verbose(files, tmp_path) -> None:
    """`--workers` used to print ~30 INFO lines of dask scheduler/nanny chatter on every run."""
    pytest.importorskip("distributed")
    import subprocess
    import sys

    def run(*flags: str) -> str:
        args = [
            *flags,
            "emulate",
            "--menu",
            "run3_hh4b",
            "--signal",
            str(files["hh4b"]),
            "--out",
            str(tmp_path / f"o{len(flags)}"),
            "--no-plots",
            "--workers",
            "1",
        ]
        code = f"from trigkit.cli.app import main; raise SystemExit(main({args!r}))"
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stderr

    assert "distributed.scheduler" not in run()
    assert "INFO distributed.scheduler" in run("-v")  # kept for -v


@pytest.fixture(scope="module")
def six_groups(tmp_path_factory) -> Path:
    """One background file of 1200 events in six row groups of 200."""
    from trigkit.events.parquet_io import write_parquet

    path = tmp_path_factory.mktemp("one") / "qcd.parquet"
    batch = synthetic_batch(1200, 21)
    write_parquet([batch[i : i + 200] for i in range(0, 1200, 200)], path)
    return path


def test_plan_splits_one_file_into_row_group_ranges(six_groups, files) -> None:
    from trigkit.emulator.distributed import plan_slices

    plan = plan_slices([six_groups], 2, min_events=1)  # 2 workers x 3 tasks -> one row group each
    assert [(s.kind, s.start, s.stop, s.first_event, s.events) for s in plan] == [
        ("row groups", i, i + 1, 200 * i, 200) for i in range(6)
    ]
    assert plan[3].describe() == f"{six_groups}, row group 3 (events 600-799)"
    two = plan_slices([six_groups], 1, min_events=1, tasks_per_worker=2)
    assert [(s.start, s.stop) for s in two] == [(0, 3), (3, 6)]
    assert two[1].describe() == f"{six_groups}, row groups 3-5 (events 600-1199)"
    # at least MIN_TASK_EVENTS per task: small files stay whole; slices keep the input order
    assert len(plan_slices([six_groups], 8)) == 1
    many = plan_slices([files["qcd"], six_groups, files["ttbar"]], 4, min_events=250)
    assert [s.file_index for s in many] == sorted(s.file_index for s in many)
    assert (
        sum(s.events for s in many) == 800 + 1200 + 500
    )  # files of two row groups: 300 + 500, 300 + 200
    assert [(s.file_index, s.events) for s in many] == [
        (0, 300),
        (0, 500),
        (1, 200),
        (1, 400),
        (1, 200),
        (1, 400),
        (2, 300),
        (2, 200),
    ]


def test_one_file_with_prescales_workers_2_gives_identical_result_json(
    six_groups, tmp_path, monkeypatch
) -> None:
    """The one large file is spread over both workers, and result.json is byte-identical."""
    pytest.importorskip("distributed")
    import trigkit.emulator.distributed as dist
    from trigkit.emulator.schema import resolve_menu_path

    text = resolve_menu_path("run3_hh4b").read_text()
    for key, n in (("  L1_HTT320er:\n", 2), ("  HLT_PFHT280_QuadPFJet30_PNet2BTagMean0p55:\n", 3)):
        assert key in text
        text = text.replace(key, f"{key}    prescale: {n}\n")
    menu = tmp_path / "prescaled.yaml"
    menu.write_text(text)
    plans = []
    real_plan = dist.plan_slices
    monkeypatch.setattr(dist, "MIN_TASK_EVENTS", 1)
    monkeypatch.setattr(
        dist, "plan_slices", lambda *a, **k: plans.append(real_plan(*a, **k)) or plans[-1]
    )

    def emulate(out: str, *extra: str) -> bytes:
        rc = main(
            [
                "emulate",
                "--menu",
                str(menu),
                "--background",
                str(six_groups),
                "--out",
                str(tmp_path / out),
                "--no-plots",
                *extra,
            ]
        )
        assert rc == 0
        return (tmp_path / out / "result.json").read_bytes()

    single = emulate("single")
    assert emulate("dask", "--workers", "2") == single
    assert len(plans) == 1 and len(plans[0]) == 6
    assert json.loads(single)["rates_hz"]["HLT_PFHT280_QuadPFJet30_PNet2BTagMean0p55"]["rate"] > 0


def test_bad_slice_error_names_the_file_and_rows(six_groups, tmp_path, monkeypatch) -> None:
    pytest.importorskip("distributed")
    import shutil

    import pyarrow.parquet as pq

    from trigkit.core.errors import TrigkitError
    from trigkit.emulator.distributed import run_files_distributed

    bad = tmp_path / "bad.parquet"
    shutil.copy(six_groups, bad)
    col = pq.ParquetFile(bad).metadata.row_group(4).column(0)
    with bad.open("r+b") as f:  # the footer stays readable; row group 4's first page does not
        f.seek(col.data_page_offset)
        f.write(b"\xff" * 64)
    monkeypatch.setattr("trigkit.emulator.distributed.MIN_TASK_EVENTS", 1)
    with pytest.raises(TrigkitError) as err:
        run_files_distributed(load_menu("run3_hh4b"), [bad], workers=2, processes=False)
    msg = str(err.value)
    assert msg.startswith(f"{bad}, row group 4 (events 800-999): ") and "\n" not in msg, msg


def test_nanoaod_is_split_into_entry_ranges_read_as_in_one_pass(nano_tt, monkeypatch) -> None:
    """NanoAOD slices are whole reader chunks (NANOAOD_STEP entries), so they give the same
    batches."""
    import trigkit.emulator.distributed as dist
    from trigkit.events.nanoaod import iter_nanoaod

    monkeypatch.setattr(dist, "NANOAOD_STEP", 30)
    plan = dist.plan_slices([nano_tt], 2, min_events=60)  # 200 entries: 7 chunks of 30 -> 3 slices
    assert [(s.kind, s.first_event, s.events) for s in plan] == [
        ("entries", 0, 60),
        ("entries", 60, 60),
        ("entries", 120, 80),
    ]
    assert plan[2].describe() == f"{nano_tt}, events 120-199"
    whole = list(iter_nanoaod(nano_tt, step_size=30))
    sliced = [b for s in plan for b in dist._read_slice(s)]
    assert [len(b) for b in sliced] == [len(b) for b in whole]
    for a, b in zip(whole, sliced, strict=True):
        np.testing.assert_array_equal(a.weight, b.weight)
        assert a.jets.pt.tolist() == b.jets.pt.tolist()
