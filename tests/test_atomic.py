"""atomic_path / atomic_dir: all-or-nothing writes with the usual file modes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from trigkit.core.atomic import atomic_dir, atomic_path, write_text


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _only(tmp_path: Path, *names: str) -> None:
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)


def test_atomic_path_renames_on_success(tmp_path: Path) -> None:
    dest = tmp_path / "sub" / "out.txt"
    with atomic_path(dest) as tmp:
        assert tmp.parent == dest.parent and tmp != dest
        tmp.write_text("hello")
        assert not dest.exists()
    assert dest.read_text() == "hello"
    assert [p.name for p in dest.parent.iterdir()] == ["out.txt"]


def test_atomic_path_exception_leaves_old_content(tmp_path: Path) -> None:
    dest = tmp_path / "out.txt"
    dest.write_text("old")
    with pytest.raises(RuntimeError, match="boom"), atomic_path(dest) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert dest.read_text() == "old"
    _only(tmp_path, "out.txt")


def test_atomic_path_exception_without_dest_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt), atomic_path(tmp_path / "x.parquet") as tmp:
        tmp.write_bytes(b"partial")
        raise KeyboardInterrupt
    _only(tmp_path)


def test_atomic_path_mode_follows_umask(tmp_path: Path) -> None:
    write_text(tmp_path / "a.json", "{}")
    mode = stat.S_IMODE((tmp_path / "a.json").stat().st_mode)
    assert mode == 0o666 & ~_umask()
    assert (tmp_path / "a.json").read_text() == "{}"


def test_atomic_dir_success_and_mode(tmp_path: Path) -> None:
    dest = tmp_path / "bundle"
    with atomic_dir(dest) as tmp:
        (tmp / "f.bin").write_bytes(b"1")
        assert not dest.exists()
    assert (dest / "f.bin").read_bytes() == b"1"
    assert stat.S_IMODE(dest.stat().st_mode) == 0o777 & ~_umask()
    _only(tmp_path, "bundle")


def test_atomic_dir_replaces_existing(tmp_path: Path) -> None:
    dest = tmp_path / "bundle"
    dest.mkdir()
    (dest / "old.txt").write_text("old")
    with atomic_dir(dest) as tmp:
        (tmp / "new.txt").write_text("new")
        assert (dest / "old.txt").exists()  # old content stays readable until the swap
    assert sorted(p.name for p in dest.iterdir()) == ["new.txt"]
    _only(tmp_path, "bundle")


def test_atomic_dir_exception_leaves_existing_untouched(tmp_path: Path) -> None:
    dest = tmp_path / "bundle"
    dest.mkdir()
    (dest / "old.txt").write_text("old")
    with pytest.raises(ValueError), atomic_dir(dest) as tmp:
        (tmp / "new.txt").write_text("new")
        raise ValueError("fail mid-write")
    assert sorted(p.name for p in dest.iterdir()) == ["old.txt"]
    _only(tmp_path, "bundle")


def test_atomic_dir_exception_without_dest_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(ValueError), atomic_dir(tmp_path / "new") as tmp:
        (tmp / "deep").mkdir()
        (tmp / "deep" / "f").write_text("x")
        raise ValueError
    _only(tmp_path)
