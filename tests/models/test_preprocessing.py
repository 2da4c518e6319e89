from __future__ import annotations

import numpy as np
import pytest

from trigkit.core.errors import TrigkitError
from trigkit.models.features import extract
from trigkit.models.preprocessing import Preprocessing


def test_fit_standardizes_real_objects_in_float64(hh4b):
    fs = extract("btag-deepsets", hh4b)
    pre = Preprocessing.fit(fs)
    x64 = fs.inputs["tracks"].astype(np.float64)[fs.inputs["mask"]]
    for f in ("d0_sig", "z0_sig"):  # heavy tails compressed with asinh before scaling
        i = fs.feature_names.index(f)
        x64[:, i] = np.arcsinh(x64[:, i])
    assert pre.transforms == tuple(
        "asinh" if f in ("d0_sig", "z0_sig") else "identity" for f in fs.feature_names
    )
    np.testing.assert_allclose(pre.offsets, x64.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(pre.scales, x64.std(axis=0), rtol=1e-12)
    z, m = pre.transform(fs)
    assert z.dtype == np.float32 and m.dtype == np.float32
    assert z.shape == fs.inputs["tracks"].shape
    np.testing.assert_array_equal(m, fs.inputs["mask"].astype(np.float32))
    real = z[fs.inputs["mask"]].astype(np.float64)
    np.testing.assert_allclose(real.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(real.std(axis=0), 1.0, atol=1e-4)
    assert np.all(z[~fs.inputs["mask"]] == 0.0)
    assert pre.max_tracks == 15 and pre.input_names == ("tracks", "mask")


def test_transform_pads_and_truncates_to_max_objects(hh4b):
    fs = extract("tracks", hh4b[:200])
    pre = Preprocessing.fit(fs)
    short = extract("tracks", hh4b[:200], max_objects=5)
    long = extract("tracks", hh4b[:200], max_objects=30)
    z, m = pre.transform(fs)
    zs, ms = pre.transform(short)
    zl, ml = pre.transform(long)
    assert zs.shape == z.shape == zl.shape
    np.testing.assert_array_equal(zl, z)
    np.testing.assert_array_equal(ml, m)
    np.testing.assert_array_equal(zs[:, :5], z[:, :5])
    assert np.all(zs[:, 5:] == 0) and np.all(ms[:, 5:] == 0)


def test_per_jet_inputs_and_round_trip(hh4b):
    fs = extract("l1-mlp", hh4b)
    pre = Preprocessing.fit(fs)
    (z,) = pre.transform(fs)
    want = (fs.inputs["jets"].astype(np.float64) - np.array(pre.offsets)) / np.array(pre.scales)
    np.testing.assert_allclose(z, want, rtol=1e-6, atol=1e-6)
    assert Preprocessing.from_dict(pre.to_dict()) == pre
    assert pre.input_shapes() == {"jets": (16,)}


def test_bad_inputs(hh4b):
    fs = extract("l1-mlp", hh4b[:100])
    pre = Preprocessing.fit(fs)
    with pytest.raises(TrigkitError, match="16"):
        pre.transform({"jets": np.zeros((3, 5), np.float32)})
    with pytest.raises(TrigkitError, match="empty training set"):
        Preprocessing.fit(fs.select(np.zeros(len(fs), bool)))
    with pytest.raises(TrigkitError, match="scales"):
        Preprocessing("l1jets", ("jets",), ("a",), (0.0,), (0.0,))
    with pytest.raises(TrigkitError, match="transforms"):
        Preprocessing("l1jets", ("jets",), ("a",), (0.0,), (1.0,), 0, ("log",))
    with pytest.raises(TrigkitError, match="malformed"):
        Preprocessing.from_dict({"kind": "l1jets"})
