"""The memory floors read exactly the bytes the one-pass kernel reads, every one of them."""

from __future__ import annotations

import numpy as np
import pytest

from tests.emulator.conftest import synthetic_batch
from trigkit.benchmarks.memory_floor import (
    kernel_buffers,
    kernel_nbytes,
    numpy_floor_s,
    skeleton_s,
    stream_floor_s,
)
from trigkit.emulator.columns import columns_from_batch
from trigkit.emulator.compiled import compile_menu
from trigkit.emulator.schema import load_menu


@pytest.fixture(scope="module")
def batch():
    return synthetic_batch(300, 7, signal=True)


def _checksum(arrays) -> float:  # noqa: ANN001
    """float64 sum of every value, independently of the floors' own accumulation."""
    return float(sum(np.asarray(a, dtype=np.float64).sum() for a in arrays))


@pytest.mark.parametrize("name", ["run3_hh4b", "atlas_2b2j"])
def test_floors_read_every_kernel_byte(batch, name: str) -> None:
    cmenu = compile_menu(load_menu(name))
    cols = columns_from_batch(batch, cmenu)
    expected = _checksum(kernel_buffers(cols, cmenu))
    for floor in (numpy_floor_s, stream_floor_s):
        seconds, checksum = floor(cols, cmenu, 2)
        assert 0 < seconds < float("inf")
        assert checksum == pytest.approx(expected, rel=1e-5)


def test_buffers_are_the_kernels_own(batch) -> None:
    """Score rows only for the fields the menu reads; large-R buffers only when it cuts on them."""
    with_fat = compile_menu(load_menu("run3_hh4b"))
    cols = columns_from_batch(batch, with_fat)
    n_jets, n_fat = len(cols.jet_pt), len(cols.fat_pt)
    n_ev = cols.n_events
    jets = 8 * (n_ev + 1) + 4 * n_jets * (2 + len(with_fat.jet_fields))
    fat = 8 * (n_ev + 1) + 4 * n_fat * (3 + len(with_fat.fatjet_fields))
    assert with_fat.menu.uses_fatjets() and kernel_nbytes(cols, with_fat) == jets + fat
    no_fat = compile_menu(load_menu("atlas_2b2j"))
    assert not no_fat.menu.uses_fatjets()
    cols = columns_from_batch(batch, no_fat)
    assert kernel_nbytes(cols, no_fat) == 8 * (n_ev + 1) + 4 * n_jets * (2 + len(no_fat.jet_fields))


def test_skeleton_reads_the_jets_above_the_floor(batch) -> None:
    """Its checksum is the pt sum of each event's leading jets down to the menu's pt floor."""
    cmenu = compile_menu(load_menu("run3_hh4b"))
    cols = columns_from_batch(batch, cmenu)
    floor = 30.0  # the lowest jet pt any cut of run3_hh4b reads
    expected = 0.0
    for e in range(cols.n_events):
        for p in cols.jet_pt[cols.jet_offsets[e] : cols.jet_offsets[e + 1]]:
            if float(p) < floor:
                break
            expected += float(p)
    seconds, checksum = skeleton_s(cols, cmenu, 2)
    assert 0 < seconds < float("inf") and checksum == pytest.approx(expected, rel=1e-12)
    assert 0 < checksum < float(cols.jet_pt.astype(np.float64).sum())  # some jets are below
