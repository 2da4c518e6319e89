"""Faults under load: `emulate --workers 2` over 52 files, one corrupt, one junk, one worker
SIGKILLed mid-task. The run names the bad files, reruns the lost task and its totals equal the
single-process run over the good files."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from tests.emulator.conftest import synthetic_batch
from trigkit.cli.app import main
from trigkit.core.errors import TrigkitError
from trigkit.emulator.api import EmulateRequest, run_emulation
from trigkit.events.parquet_io import read_parquet, write_parquet

N_FILES, N_SIGNAL, CORRUPT, JUNK, VICTIM = 52, 12, 17, 33, 40

distributed = pytest.importorskip("distributed")


class KillOnce(distributed.WorkerPlugin):
    """SIGKILL the worker process that starts executing a task of ``target`` (once per run)."""

    def __init__(self, marker: str, target: str) -> None:
        self.marker, self.target = marker, target

    def transition(self, key, start, finish, **kwargs) -> None:
        if finish != "executing" or self.target not in str(key):
            return
        try:
            fd = os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return  # already killed one worker: let the rerun go through
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        os.kill(os.getpid(), signal.SIGKILL)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> list[Path]:
    d = tmp_path_factory.mktemp("many")
    paths = []
    for i in range(N_FILES):
        path = d / f"f{i:03d}.parquet"
        write_parquet([synthetic_batch(40, 100 + i, signal=i < N_SIGNAL)], path)
        paths.append(path)
    data = paths[CORRUPT].read_bytes()  # garble the column data, keep the footer readable
    footer = int.from_bytes(data[-8:-4], "little") + 8
    end = len(data) - footer
    paths[CORRUPT].write_bytes(data[:8] + bytes(b ^ 0x5A for b in data[8:end]) + data[end:])
    paths[JUNK].write_bytes(b"PAR1 this is not a parquet file PAR1")
    return paths


def _request(paths: list[Path], **kw) -> EmulateRequest:
    return EmulateRequest(
        menu="run3_hh4b",
        signal=tuple(paths[:N_SIGNAL]),
        background=tuple(paths[N_SIGNAL:]),
        inst_lumi=1e34,
        **kw,
    )


def _json(res) -> dict:
    from trigkit.report.json_out import result_dict

    return json.loads(json.dumps(result_dict(res)))


def test_bad_files_named_lost_task_rerun_totals_equal(files, tmp_path, caplog, monkeypatch) -> None:
    for bad in (CORRUPT, JUNK):
        with pytest.raises(TrigkitError, match=files[bad].name):
            read_parquet(files[bad])  # the premise: neither file can be read
    good = [p for i, p in enumerate(files) if i not in (CORRUPT, JUNK)]
    n_sig_good = sum(1 for i in range(N_SIGNAL) if i not in (CORRUPT, JUNK))
    single, _ = run_emulation(
        EmulateRequest(
            menu="run3_hh4b",
            signal=tuple(good[:n_sig_good]),
            background=tuple(good[n_sig_good:]),
            inst_lumi=1e34,
        )
    )
    import trigkit.emulator.distributed as dist_mod

    marker = tmp_path / "killed.pid"
    connect = dist_mod._connect
    clusters = []

    def connect_and_arm(dd, workers, scheduler, processes):  # noqa: ANN001, ANN202
        client, cluster = connect(dd, workers, scheduler, processes)  # the --workers cluster
        client.register_plugin(KillOnce(str(marker), f"-{files[VICTIM].name}-"))
        clusters.append((len(cluster.workers), processes))
        return client, cluster

    monkeypatch.setattr(dist_mod, "_connect", connect_and_arm)
    out = tmp_path / "out"
    rc = main(
        [
            "emulate",
            "--menu",
            "run3_hh4b",
            "--lumi",
            "1e34",
            "--no-plots",
            "--signal",
            *map(str, files[:N_SIGNAL]),
            "--background",
            *map(str, files[N_SIGNAL:]),
            "--workers",
            "2",
            "--skip-bad-files",
            "--out",
            str(out),
        ]
    )
    assert rc == 0 and clusters == [(2, True)]  # a LocalCluster of 2 worker processes
    killed = int(marker.read_text())  # a worker really was SIGKILLed mid-task
    with pytest.raises(ProcessLookupError):
        os.kill(killed, 0)
    skipped = [r.getMessage() for r in caplog.records if "skipped bad file" in r.getMessage()]
    assert len(skipped) == 2
    assert str(files[CORRUPT]) in skipped[0] and "row group 0" in skipped[0]
    assert str(files[JUNK]) in skipped[1] and "not a readable Parquet file" in skipped[1]
    dist = json.loads((out / "result.json").read_text())
    listed = dist.pop("skipped_files")  # named in the result too, in input order
    assert [f["path"] for f in listed] == [str(files[CORRUPT]), str(files[JUNK])]
    assert "row group 0" in listed[0]["reason"] and all("\n" not in f["reason"] for f in listed)
    assert dist == {k: v for k, v in _json(single).items() if k != "skipped_files"}
    assert len(dist["samples"]) == N_FILES - 2
    eff = dist["signal"][0]["efficiency"]["OR"]
    assert eff["total"] == 40 and 0 < eff["passed"] < 40


def test_without_skip_a_bad_file_stops_the_run_naming_it(files, tmp_path, capsys) -> None:
    out = tmp_path / "o"
    rc = main(
        [
            "emulate",
            "--menu",
            "run3_hh4b",
            "--signal",
            *map(str, files[30:36]),
            "--workers",
            "2",
            "--out",
            str(out),
        ]
    )
    err = capsys.readouterr().err.strip()
    assert rc == 1 and err.startswith("error:") and "\n" not in err
    assert files[JUNK].name in err and "not a readable Parquet file" in err
    assert not out.exists()


def test_skip_bad_files_needs_a_cluster(files) -> None:
    with pytest.raises(TrigkitError, match="--skip-bad-files applies to --workers"):
        run_emulation(_request(files[:3], skip_bad_files=True))


def test_task_lost_too_often_stops_the_run_naming_its_slice(files, tmp_path) -> None:
    import dask

    from trigkit.emulator.distributed import emulate_files
    from trigkit.emulator.schema import load_menu

    marker = tmp_path / "killed.pid"
    good = [p for i, p in enumerate(files[:6]) if i not in (CORRUPT, JUNK)]
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 0}),
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        client.register_plugin(KillOnce(str(marker), f"-{good[2].name}-"))
        with pytest.raises(TrigkitError, match=r"f00\d.parquet: its task was lost with a dask"):
            emulate_files(load_menu("run3_hh4b"), good, scheduler=cluster.scheduler_address)
    assert marker.exists()
