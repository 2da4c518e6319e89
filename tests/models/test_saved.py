from __future__ import annotations

import numpy as np
import pytest
import torch

from trigkit.core.errors import TrigkitError
from trigkit.models.saved import FORMAT_VERSION, load_model


def test_round_trip_gives_identical_outputs(tiny_btag, small, tmp_path):
    path = tiny_btag.save(tmp_path / "m.pt")
    back = load_model(path)
    assert back.name == "btag-deepsets"
    assert back.config == tiny_btag.config
    assert back.preprocessing == tiny_btag.preprocessing
    assert back.input_names == ("tracks", "mask") and back.class_names == ("b", "c", "light")
    assert back.baselines == tiny_btag.baselines
    assert back.metrics == tiny_btag.metrics
    assert not back.module.training
    np.testing.assert_array_equal(back.predict(small[1]), tiny_btag.predict(small[1]))
    # predict from events == predict from features == softmax of module on preprocessed tensors
    fs = back.features(small[1])
    xs = [torch.from_numpy(x) for x in back.preprocessing.transform(fs)]
    with torch.no_grad():
        direct = torch.softmax(back.module(*xs), dim=1).numpy()
    np.testing.assert_allclose(back.predict(fs), direct, rtol=1e-6, atol=1e-7)
    assert not list(tmp_path.glob(".*"))  # no temporary left behind


def test_discriminant_is_d_b(tiny_btag, small):
    p = tiny_btag.predict(small[0]).astype(np.float64)
    want = np.log(p[:, 0] / (0.05 * p[:, 1] + 0.95 * p[:, 2]))
    np.testing.assert_allclose(tiny_btag.discriminant(p), want, rtol=1e-12)


def test_missing_and_garbage_files(tmp_path):
    with pytest.raises(TrigkitError, match="does not exist"):
        load_model(tmp_path / "nope.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a torch file")
    with pytest.raises(TrigkitError, match="not a trigkit model file"):
        load_model(bad)
    torch.save({"hello": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(TrigkitError, match="missing format_version"):
        load_model(tmp_path / "other.pt")


def _rewrite(src, dest, **changes):
    rec = torch.load(src, weights_only=True)
    rec.update(changes)
    torch.save(rec, dest)
    return dest


def test_incompatible_version_and_content(tiny_btag, tmp_path):
    good = tiny_btag.save(tmp_path / "m.pt")
    with pytest.raises(TrigkitError, match=f"version {FORMAT_VERSION + 1} is not supported"):
        load_model(_rewrite(good, tmp_path / "v.pt", format_version=FORMAT_VERSION + 1))
    rec = torch.load(good, weights_only=True)
    cfg = dict(rec["config"], phi=[32, 16])
    with pytest.raises(TrigkitError, match="weights do not fit"):
        load_model(_rewrite(good, tmp_path / "w.pt", config=cfg))
    with pytest.raises(TrigkitError, match="invalid model config"):
        load_model(
            _rewrite(good, tmp_path / "c.pt", config=dict(rec["config"], architecture="cnn"))
        )


def test_save_is_atomic_on_failure(tiny_btag, tmp_path, monkeypatch):
    dest = tmp_path / "m.pt"
    dest.write_bytes(b"old")

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", boom)
    with pytest.raises(OSError):
        tiny_btag.save(dest)
    assert dest.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.pt"]
