"""Dispatch by suffix: the same events whichever reader opens them."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import awkward as ak
import numpy as np
import pytest

from tests.events.test_hdf5 import hand_batch
from trigkit.core.errors import TrigkitError
from trigkit.events.batch import EventBatch
from trigkit.events.hdf5 import write_hdf5
from trigkit.events.nanoaod import read_nanoaod
from trigkit.events.sources import file_format, iter_events, open_events

needs_parquet = pytest.mark.skipif(
    importlib.util.find_spec("trigkit.events.parquet_io") is None,
    reason="trigkit.events.parquet_io not written yet",
)


def test_root_dispatch(nano_tt: Path) -> None:
    assert file_format(nano_tt) == "nanoaod"
    chunks = list(iter_events(nano_tt, step_size=150))
    assert [len(c) for c in chunks] == [150, 50]
    whole = open_events(nano_tt)
    assert ak.to_list(EventBatch.concatenate(chunks).jets.pt) == ak.to_list(whole.jets.pt)
    assert open_events(nano_tt, xsec_pb=10.0).sum_weights == pytest.approx(10.0)


@pytest.mark.parametrize("suffix", [".h5", ".hdf5", ".H5"])
def test_hdf5_dispatch(tmp_path: Path, suffix: str) -> None:
    path = write_hdf5(hand_batch(), tmp_path / f"x{suffix}")
    assert file_format(path) == "hdf5"
    chunks = list(iter_events(path, step_size=2))
    assert [len(c) for c in chunks] == [2, 1]
    assert ak.to_list(EventBatch.concatenate(chunks).jets.pt) == ak.to_list(
        open_events(path).jets.pt
    )
    with pytest.raises(TrigkitError, match="xsec_pb do not apply to HDF5"):
        list(iter_events(path, xsec_pb=1.0))


def test_unsupported_and_missing(tmp_path: Path) -> None:
    odd = tmp_path / "events.json"
    odd.write_text("{}")
    with pytest.raises(TrigkitError, match=r"unsupported file type '\.json'"):
        open_events(odd)
    with pytest.raises(TrigkitError, match="no such file"):
        list(iter_events(tmp_path / "gone.parquet"))
    with pytest.raises(TrigkitError, match="not a file"):
        open_events(tmp_path)


@needs_parquet
def test_parquet_dispatch(tmp_path: Path, nano_tt: Path) -> None:
    from trigkit.events.parquet_io import write_parquet

    batch = read_nanoaod(nano_tt)
    path = tmp_path / "tt.parquet"
    write_parquet([batch[:120], batch[120:]], path)
    assert file_format(path) == "parquet"
    back = open_events(path)
    assert ak.to_list(back.jets.pt) == ak.to_list(batch.jets.pt)
    np.testing.assert_array_equal(back.weight, batch.weight)
    assert [len(c) for c in iter_events(path)] == [120, 80]  # one batch per row group
    assert [len(c) for c in iter_events(path, step_size=50)] == [50, 50, 20, 50, 30]
    with pytest.raises(TrigkitError, match="lumi_pb do not apply to Parquet"):
        open_events(path, lumi_pb=2.0)
    assert sorted(back.triggers) == sorted(batch.triggers)
