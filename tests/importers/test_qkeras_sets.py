"""A QKeras DeepSets / Conv1D tagger saved by QKeras itself (the ``qkeras`` venv:
scripts/test-qkeras): the firmware's numba emulation equals QKeras ``predict`` bit for bit, and
the h5py twin the tests without TensorFlow read (hls4ml C simulation) is the same firmware."""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.importers import qkeras_set_models as qs
from trigkit.firmware.emulate import FirmwareEmulator
from trigkit.importers import firmware_digest, forward, import_model
from trigkit.importers.firmware import to_firmware_network
from trigkit.importers.set_firmware import flat_rows

pytestmark = [
    pytest.mark.qkeras,
    pytest.mark.skipif(
        importlib.util.find_spec("qkeras") is None,
        reason="qkeras not installed (run scripts/test-qkeras)",
    ),
]


def test_qkeras_deepsets_is_bit_exact_with_qkeras(keras: Any, tmp_path: Path) -> None:
    w = qs.weights()
    model = qs.qkeras_model(keras, w)
    paths = [tmp_path / "q.h5", tmp_path / "q.keras"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "HDF5 is legacy", deprecations inside TensorFlow
        for p in paths:
            model.save(p)
    paths.append(qs.write_h5(tmp_path / "twin.h5", w))
    x = np.random.default_rng(1).normal(scale=2.0, size=(3000, qs.N_CONST, qs.N_FEAT))
    x32 = x.astype(np.float32)
    x = x32.astype(np.float64)
    want = model.predict(x32, verbose=0).astype(np.float64)
    nets = []
    for p in paths:
        imported = import_model(p)
        net = to_firmware_network(imported, x)
        nets.append(net)
        got = FirmwareEmulator(net).predict(flat_rows(imported, x))
        assert np.array_equal(got, want), p.name
        assert np.array_equal(forward(imported, x), want), p.name
    assert len({firmware_digest(n) for n in nets}) == 1  # .h5, .keras and the h5py twin
    assert len(np.unique(want)) > 1000 and np.any(np.abs(x) > nets[0].input_t.max)
