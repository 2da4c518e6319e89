"""A killed writer's temporary is removed by the next write; concurrent writers never tear."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trigkit.core.atomic import atomic_dir, atomic_path, write_text
from trigkit.core.stale import host_tag, pid_alive, sweep

_WRITER = """
import sys, time
from trigkit.core.atomic import atomic_path
with atomic_path(sys.argv[1], suffix=".parquet.tmp") as tmp:
    with open(tmp, "wb") as f:
        f.write(b"x" * 100_000)
        f.flush()
        print(tmp, flush=True)
        time.sleep(120)
"""


def _start_writer(dest: Path) -> tuple[subprocess.Popen[str], Path]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(dest)], stdout=subprocess.PIPE, text=True, env=env
    )
    assert proc.stdout is not None
    tmp = Path(proc.stdout.readline().strip())
    assert tmp.parent == dest.parent and tmp.stat().st_size == 100_000
    return proc, tmp


def _kill(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.stdout is not None
    proc.stdout.close()


def test_sigkilled_writer_temp_is_removed_by_next_write(tmp_path: Path) -> None:
    dest = tmp_path / "x.parquet"
    proc, tmp = _start_writer(dest)
    _kill(proc)
    assert tmp.exists() and not dest.exists()  # the kill left half a file behind
    with atomic_path(dest, suffix=".parquet.tmp") as new:
        new.write_bytes(b"complete")
    assert dest.read_bytes() == b"complete"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.parquet"]


def test_live_writer_temp_is_left_alone(tmp_path: Path) -> None:
    dest = tmp_path / "x.parquet"
    proc, tmp = _start_writer(dest)
    try:
        with atomic_path(dest, suffix=".parquet.tmp") as new:
            new.write_bytes(b"mine")
        assert tmp.exists() and tmp.stat().st_size == 100_000
        assert dest.read_bytes() == b"mine"
    finally:
        _kill(proc)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_sweep_touches_only_our_names(tmp_path: Path) -> None:
    dest = tmp_path / "out.json"
    dead = _dead_pid()
    ours = tmp_path / f".out.json.tk-{host_tag()}-{dead}-abcd_123.tmp"
    other_host = tmp_path / f".out.json.tk-00000000-{dead}-abcd_123.tmp"
    other_dest = tmp_path / f".other.json.tk-{host_tag()}-{dead}-abcd_123.tmp"
    foreign = [tmp_path / ".out.json.backup", tmp_path / ".out.json.abcd_1234.tmp.keep"]
    old_dir = tmp_path / f".out.json.old-{dead}-zz11yy22"
    for p in (ours, other_host, other_dest, *foreign):
        p.write_text("?")
    old_dir.mkdir()
    (old_dir / "f").write_text("?")
    assert not pid_alive(dead)
    removed = sweep(dest, (".tmp",))
    assert sorted(removed) == sorted([ours, old_dir])
    assert other_host.exists() and other_dest.exists() and all(p.exists() for p in foreign)


def test_sweep_removes_old_temps_whatever_their_owner(tmp_path: Path) -> None:
    dest = tmp_path / "x.parquet"
    alive = tmp_path / f".x.parquet.tk-{host_tag()}-{os.getpid()}-abcdefgh.parquet.tmp"
    legacy = tmp_path / ".x.parquet.q1w2e3r4.parquet.tmp"  # before temps recorded their pid
    for p in (alive, legacy):
        p.write_text("?")
    assert sweep(dest, (".parquet.tmp",)) == []  # our pid is alive, legacy name is fresh
    past = time.time() - 7 * 3600
    for p in (alive, legacy):
        os.utime(p, (past, past))
    assert sorted(sweep(dest, (".parquet.tmp",))) == sorted([alive, legacy])


def test_atomic_dir_removes_dead_writers_dirs(tmp_path: Path) -> None:
    dest = tmp_path / "bundle"
    stale = tmp_path / f".bundle.tk-{host_tag()}-{_dead_pid()}-abcdefgh"
    stale.mkdir()
    (stale / "model.onnx").write_bytes(b"half")
    with atomic_dir(dest) as tmp:
        (tmp / "manifest.json").write_text("{}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle"]


def _held_writer(dest: str, payload: bytes, written, release) -> None:
    with atomic_path(dest) as tmp:
        tmp.write_bytes(payload)
        written.set()
        release.wait(60)


def test_concurrent_writers_last_rename_wins(tmp_path: Path) -> None:
    dest = tmp_path / "result.json"
    ctx = mp.get_context("spawn")
    written, release = ctx.Event(), ctx.Event()
    first = ctx.Process(target=_held_writer, args=(str(dest), b"A" * 50_000, written, release))
    first.start()
    assert written.wait(60)  # A opened its temp first and holds it
    write_text(dest, "B" * 50_000)  # B starts later but renames first
    assert dest.read_text() == "B" * 50_000
    release.set()
    first.join(60)
    assert first.exitcode == 0
    assert dest.read_bytes() == b"A" * 50_000  # A renamed last: A wins
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.json"]


def _hammer(dest: str, letter: str, rounds: int, as_dir: bool) -> None:
    for i in range(rounds):
        body = (letter * (20_000 + 1000 * (i % 7))).encode()
        if as_dir:
            with atomic_dir(dest) as tmp:
                (tmp / "a.bin").write_bytes(body)
                (tmp / "b.bin").write_bytes(body)
        else:
            with atomic_path(dest) as tmp:
                tmp.write_bytes(body)


def _read_both(dest: Path) -> tuple[bytes, bytes]:
    """Both files of one directory (held open, so a swap meanwhile cannot mix two)."""
    dir_fd = os.open(dest, os.O_RDONLY | os.O_DIRECTORY)
    try:
        out = []
        for name in ("a.bin", "b.bin"):
            fd = os.open(name, os.O_RDONLY, dir_fd=dir_fd)
            with os.fdopen(fd, "rb") as f:
                out.append(f.read())
        return out[0], out[1]
    finally:
        os.close(dir_fd)


def _check_whole(body: bytes) -> None:
    assert len(body) >= 20_000 and len(set(body)) == 1, "torn file"


@pytest.mark.parametrize("as_dir", [False, True], ids=["file", "dir"])
def test_concurrent_writers_never_tear(tmp_path: Path, as_dir: bool) -> None:
    dest = tmp_path / "out"
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_hammer, args=(str(dest), c, 60, as_dir)) for c in "PQR"]
    for p in procs:
        p.start()
    seen = 0
    while any(p.is_alive() for p in procs) or seen == 0:
        try:
            if as_dir:
                a, b = _read_both(dest)
                _check_whole(a)
                assert a[:1] == b[:1], "directory mixes two writers"
            else:
                _check_whole(dest.read_bytes())
            seen += 1
        except (FileNotFoundError, NotADirectoryError):
            pass  # a directory is briefly absent between the two renames of a swap
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert seen > 0
