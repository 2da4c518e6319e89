"""Parquet IO: round trips, atomic writes, determinism and bad-file errors."""

from __future__ import annotations

import os
import stat

import awkward as ak
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from trigkit.core.errors import TrigkitError
from trigkit.events.generator import generate, iter_generate
from trigkit.events.parquet_io import iter_parquet, read_parquet, write_parquet


@pytest.fixture(scope="module")
def batch():
    return generate("qcd", 900, seed=21, lumi_pb=3.5)


def test_round_trip_equal_with_metadata(tmp_path, batch):
    path = tmp_path / "qcd.parquet"
    seen: list[int] = []
    assert write_parquet([batch[:400], batch[400:]], path, progress=seen.append) == 900
    assert seen == [400, 500]
    back = read_parquet(path)
    assert ak.array_equal(
        back.to_awkward(), batch.to_awkward(), equal_nan=True, check_parameters=True
    )
    assert back.jets.type == batch.jets.type and back.fatjets.type == batch.fatjets.type
    assert (back.process, back.lumi_pb) == (batch.process, batch.lumi_pb)
    assert (
        back.source.startswith(str(path)) and batch.source in back.source
    )  # file first, origin kept
    np.testing.assert_array_equal(back.weight, batch.weight)
    assert [len(b) for b in iter_parquet(path)] == [400, 500]
    assert pq.ParquetFile(path).num_row_groups == 2


def test_output_has_umask_permissions(tmp_path, batch):
    path = tmp_path / "p.parquet"
    write_parquet([batch[:5]], path)
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


def test_same_input_same_bytes(tmp_path):
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    write_parquet(iter_generate("hh4b", 300, 1, chunk_size=100), a)
    write_parquet(iter_generate("hh4b", 300, 1, chunk_size=100), b)
    assert a.read_bytes() == b.read_bytes()


def test_failure_mid_write_leaves_nothing(tmp_path, batch):
    def batches():
        yield batch[:300]
        raise RuntimeError("generator died")

    path = tmp_path / "out" / "x.parquet"
    with pytest.raises(RuntimeError, match="generator died"):
        write_parquet(batches(), path)
    assert not path.exists()
    assert list(path.parent.iterdir()) == []


def test_existing_file_kept_on_failure(tmp_path, batch):
    path = tmp_path / "x.parquet"
    write_parquet([batch[:10]], path)
    before = path.read_bytes()

    def batches():
        yield batch[:50]
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_parquet(batches(), path)
    assert path.read_bytes() == before and len(list(tmp_path.iterdir())) == 1


def test_mixed_processes_refused(tmp_path, batch):
    other = generate("ttbar", 5, seed=1, lumi_pb=3.5)
    with pytest.raises(TrigkitError, match="cannot join"):
        write_parquet([batch[:5], other], tmp_path / "m.parquet")
    assert list(tmp_path.iterdir()) == []


def test_layout_change_refused(tmp_path, batch):
    import dataclasses

    no_fat = dataclasses.replace(batch[:5], fatjets=None)
    with pytest.raises(TrigkitError, match="does not match the layout.*fatjets"):
        write_parquet([batch[:5], no_fat], tmp_path / "l.parquet")
    assert list(tmp_path.iterdir()) == []


def test_bad_destinations(tmp_path, batch):
    with pytest.raises(TrigkitError, match=r"\.parquet"):
        write_parquet([batch], tmp_path / "x.root")
    (tmp_path / "file").write_text("")
    with pytest.raises(TrigkitError, match="not a directory"):
        write_parquet([batch], tmp_path / "file" / "x.parquet")
    (tmp_path / "d.parquet").mkdir()
    with pytest.raises(TrigkitError, match="is a directory"):
        write_parquet([batch], tmp_path / "d.parquet")
    with pytest.raises(TrigkitError, match="no events"):
        write_parquet([], tmp_path / "empty.parquet")


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores permissions")
def test_unwritable_directory(tmp_path, batch):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(TrigkitError, match="not writable"):
            write_parquet([batch], ro / "x.parquet")
    finally:
        ro.chmod(0o700)


def test_bad_files(tmp_path, batch):
    with pytest.raises(TrigkitError, match="no such file"):
        read_parquet(tmp_path / "missing.parquet")
    junk = tmp_path / "junk.parquet"
    junk.write_bytes(b"this is not parquet" * 10)
    with pytest.raises(TrigkitError, match="junk.parquet: not a readable Parquet"):
        read_parquet(junk)
    plain = tmp_path / "plain.parquet"
    pq.write_table(pa.table({"x": [1, 2, 3]}), plain)
    with pytest.raises(TrigkitError, match="plain.parquet: not EventBatch events: missing field"):
        read_parquet(plain)
    good = tmp_path / "good.parquet"
    write_parquet([batch], good)
    data = good.read_bytes()
    truncated = tmp_path / "truncated.parquet"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(TrigkitError, match="truncated.parquet"):
        read_parquet(truncated)
    corrupt = tmp_path / "corrupt.parquet"
    middle = len(data) // 2
    corrupt.write_bytes(data[:100] + bytes(b ^ 0xFF for b in data[100:middle]) + data[middle:])
    with pytest.raises(TrigkitError, match="corrupt.parquet"):
        read_parquet(corrupt)
