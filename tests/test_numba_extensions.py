"""numba_extensions.skip: a trigkit process compiles its kernels without importing vector's
numba extension, gets the right answers, and still passes awkward arrays to numba."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

_PROBE = """
import json, sys
from trigkit.core import numba_extensions
first = numba_extensions.skip() if {skip} else None
from numba import njit
import numpy as np

@njit
def total(x):
    s = 0.0
    for v in x:
        s += v
    return s

@njit
def jagged_total(arr):
    s = 0.0
    for row in arr:
        for v in row:
            s += v
    return s

import awkward as ak
value = total(np.arange(10.0))
jagged = jagged_total(ak.Array([[1.0, 2.0], [], [3.5]]))
print(json.dumps({{"first": first, "again": numba_extensions.skip(), "value": value,
    "jagged": jagged, "vector": "vector" in sys.modules}}))
"""


def _probe(skip: bool) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE.format(skip=skip)], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out.splitlines()[-1])


def test_skip_keeps_extensions_out_and_kernels_right() -> None:
    got = _probe(skip=True)
    assert got["first"] is True and got["again"] is False  # a second call changes nothing
    assert got["value"] == 45.0 and got["jagged"] == 6.5  # awkward's extension is there
    assert not got["vector"]


def test_without_skip_numba_loads_the_installed_extensions() -> None:
    """The control: numba's first compile imports vector's extension (so the test above can
    fail), and skip() after numba's own initialisation reports it skipped nothing."""
    pytest.importorskip("vector")
    got = _probe(skip=False)
    assert got["vector"] and got["again"] is False and got["value"] == 45.0
