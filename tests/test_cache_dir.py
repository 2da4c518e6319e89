"""A cache directory that cannot be made falls back to one per user under the temp dir."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from trigkit.core.cache_dir import writable_dir


def test_preferred_dir_is_made_and_used(tmp_path: Path) -> None:
    want = tmp_path / "a" / "b"
    assert writable_dir(want, "trigkit-test") == want and want.is_dir()


def test_unmakeable_dir_falls_back_to_temp(tmp_path: Path, monkeypatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    got = writable_dir(blocker / "cache", "trigkit-test")
    uid = os.getuid() if hasattr(os, "getuid") else 0
    assert got == tmp_path / "tmp" / f"trigkit-test-{uid}" and got.is_dir()
