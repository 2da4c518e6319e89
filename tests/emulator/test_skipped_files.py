"""`emulate --workers N --skip-bad-files`: the files left out are listed in result.json (path +
one-line reason) and shown in result.md; a run that skipped nothing lists none."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.emulator.conftest import synthetic_batch
from trigkit.cli.app import main
from trigkit.emulator.result import SkippedFile
from trigkit.events.parquet_io import write_parquet
from trigkit.report.tables import result_tables, to_markdown


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> list[Path]:
    d = tmp_path_factory.mktemp("skip")
    paths = []
    for i in range(4):
        path = d / f"s{i}.parquet"
        write_parquet([synthetic_batch(30, 200 + i, signal=i == 0)], path)
        paths.append(path)
    paths[2].write_bytes(b"PAR1 not parquet at all PAR1")
    return paths


def _emulate(files: list[Path], out: Path, *extra: str) -> dict:
    args = ["emulate", "--menu", "run3_hh4b", "--lumi", "1e34", "--no-plots", "--out", str(out)]
    args += ["--signal", str(files[0]), "--background", *map(str, files[1:]), *extra]
    assert main(args) == 0
    return json.loads((out / "result.json").read_text())


def test_skipped_files_listed_in_json_and_report(files, tmp_path) -> None:
    pytest.importorskip("distributed")
    res = _emulate(files, tmp_path / "o", "--workers", "1", "--skip-bad-files")
    assert res["skipped_files"] == [
        {"path": str(files[2]), "reason": res["skipped_files"][0]["reason"]}
    ]
    reason = res["skipped_files"][0]["reason"]
    assert "not a readable Parquet file" in reason and "\n" not in reason
    assert [s["name"] for s in res["samples"]] == ["s0", "s1", "s3"]  # the bad file's events: none
    md = (tmp_path / "o" / "result.md").read_text()
    assert "### Skipped files (1: unreadable, left out of every number)" in md
    assert f"| {files[2]} | {reason} |" in md


def test_nothing_skipped_lists_nothing(files, tmp_path) -> None:
    good = [files[0], files[1], files[3]]
    res = _emulate(good, tmp_path / "o")
    assert res["skipped_files"] == []
    assert "Skipped files" not in (tmp_path / "o" / "result.md").read_text()


def test_skipped_table_rows_are_the_files() -> None:
    from dataclasses import replace

    from trigkit.emulator.result import MenuResult

    res = MenuResult("m", (), (), 1e34, 0.68, [], {}, None)  # type: ignore[arg-type]
    assert result_tables(res) == []
    res = replace(res, skipped_files=(SkippedFile("a.parquet", "bad footer"),))
    (table,) = result_tables(res)
    assert table.rows == [("a.parquet", "bad footer")]
    assert "| a.parquet | bad footer |" in to_markdown([table])
