"""`events generate --engine pythia`: cache hits, one-line errors, nothing half-written."""

from __future__ import annotations

from pathlib import Path

import pytest

from trigkit.cli.app import main


def _one_error(capsys: pytest.CaptureFixture[str], match: str) -> str:
    err = [ln for ln in capsys.readouterr().err.strip().splitlines() if ln.startswith("error:")]
    assert len(err) == 1 and match in err[0], err
    return err[0]


def test_cache_hit_reuses_the_file(pythia_cache: Path, qcd_pu_config, qcd_pu) -> None:
    from trigkit.events.pythia.cache import cached_sample

    path, hit = cached_sample(qcd_pu_config, pythia_cache)
    assert hit and path.exists()
    before = path.stat().st_mtime_ns
    path2, hit2 = cached_sample(qcd_pu_config, pythia_cache)
    assert (path2, hit2) == (path, True) and path.stat().st_mtime_ns == before
    assert not list(pythia_cache.glob(".*"))  # no temporaries left behind


def test_cli_generates_then_hits_the_cache(pythia_cache: Path, tmp_path: Path, capsys) -> None:
    from trigkit.events.parquet_io import read_parquet

    argv = [
        "events",
        "generate",
        "-p",
        "ttbar",
        "-n",
        "20",
        "--mu",
        "0",
        "--seed",
        "4",
        "--cache-dir",
        str(pythia_cache),
    ]
    assert main([*argv, "--out", str(tmp_path / "a.parquet")]) == 0
    assert "generated" in capsys.readouterr().err
    assert main([*argv, "--out", str(tmp_path / "b.parquet")]) == 0
    assert "cache hit" in capsys.readouterr().err
    a, b = read_parquet(tmp_path / "a.parquet"), read_parquet(tmp_path / "b.parquet")
    assert len(a) == 20 and a.process == "ttbar" and a.jets.pt.tolist() == b.jets.pt.tolist()
    assert a.sum_weights / a.lumi_pb == pytest.approx(b.sum_weights / b.lumi_pb)
    assert 300 < a.sum_weights / a.lumi_pb < 1000  # Pythia's LO sigma(ttbar), 13.6 TeV, pb


@pytest.mark.parametrize(
    "extra, match",
    [
        (["-p", "wprime"], "unknown process 'wprime'"),
        (["-p", "qcd", "--mu", "-2"], "mu (--mu) must be >= 0"),
        (["-p", "qcd", "--set", "Foo:bar = 1"], "Pythia rejected setting 'Foo:bar = 1'"),
        (["-p", "qcd", "--set", "PhaseSpace:pTHatMin = abc"], "value not meaningful"),
        (["-p", "qcd", "--engine", "herwig"], "unknown --engine 'herwig'"),
    ],
)
def test_cli_bad_input(pythia_cache: Path, tmp_path: Path, capsys, extra, match) -> None:
    out = tmp_path / "x.parquet"
    argv = ["events", "generate", "-n", "10", "--cache-dir", str(pythia_cache / "bad"), *extra]
    assert main([*argv, "--out", str(out)]) == 1
    _one_error(capsys, match)
    assert not out.exists() and list(tmp_path.iterdir()) == []
    assert not list((pythia_cache / "bad").glob("*.parquet"))


def test_cli_missing_pythia_names_the_extra(tmp_path: Path, capsys, monkeypatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "pythia8mc", None)
    argv = ["events", "generate", "-p", "qcd", "-n", "10", "--cache-dir", str(tmp_path / "c")]
    assert main([*argv, "--out", str(tmp_path / "x.parquet")]) == 1
    _one_error(capsys, "trigkit[physics]")
    assert not (tmp_path / "x.parquet").exists()


def test_kill_9_midway_leaves_nothing_half_written(pythia_cache: Path, tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "out" / "x.parquet"
    out.parent.mkdir()
    code = "import sys; from trigkit.cli.app import main; sys.exit(main(sys.argv[1:]))"
    argv = [
        "events",
        "generate",
        "-p",
        "qcd",
        "-n",
        "100000",
        "--mu",
        "0",
        "--out",
        str(out),
        "--cache-dir",
        str(pythia_cache / "killed"),
    ]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *argv],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while not (pythia_cache / "killed" / "mpi-init-qcd.dat").exists():  # Pythia is running
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.2)
    time.sleep(1.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert list(out.parent.iterdir()) == []
    assert not list((pythia_cache / "killed").glob("*.parquet*"))
