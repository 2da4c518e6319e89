"""numba_extensions.skip: a trigkit process compiles its kernels without importing other
packages' numba extensions (vector, awkward.numba), and still gets the right answers."""

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

value = total(np.arange(10.0))
print(json.dumps({{"first": first, "again": numba_extensions.skip(), "value": value,
    "vector": "vector" in sys.modules, "awkward_numba": "awkward.numba" in sys.modules}}))
"""


def _probe(skip: bool) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE.format(skip=skip)], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out.splitlines()[-1])


def test_skip_keeps_extensions_out_and_kernels_right() -> None:
    got = _probe(skip=True)
    assert got["first"] is True and got["again"] is False  # a second call changes nothing
    assert got["value"] == 45.0
    assert not got["vector"] and not got["awkward_numba"]


def test_without_skip_numba_loads_the_installed_extensions() -> None:
    """The control: numba's first compile imports vector's extension (so the test above can
    fail), and skip() after numba's own initialisation reports it skipped nothing."""
    pytest.importorskip("vector")
    got = _probe(skip=False)
    assert got["vector"] and got["again"] is False and got["value"] == 45.0
