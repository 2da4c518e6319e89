"""`trigkit train` / `trigkit evaluate` end to end on tiny parquet files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from trigkit.cli.app import main
from trigkit.models.feature_set import FeatureSet

from .test_metrics import mann_whitney_auc


@pytest.fixture(scope="module")
def parquet_files(small, tmp_path_factory):
    from trigkit.events.parquet_io import write_parquet

    d = tmp_path_factory.mktemp("events")
    paths = []
    for b in small:
        p = d / f"{b.process}.parquet"
        write_parquet([b], p)
        paths.append(p)
    return paths


def test_train_then_evaluate(parquet_files, tmp_path, capsys):
    out = tmp_path / "model.pt"
    rc = main(
        [
            "train",
            "--model",
            "l1-mlp",
            "--events",
            *map(str, parquet_files),
            "--out",
            str(out),
            "--epochs",
            "2",
            "--seed",
            "1",
            "--threads",
            "1",
            "--plot",
            str(tmp_path / "val.png"),
        ]
    )
    assert rc == 0, capsys.readouterr().err
    assert out.is_file()
    assert (tmp_path / "val.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "validation" in capsys.readouterr().out

    rc = main(
        [
            "evaluate",
            str(out),
            "--events",
            *map(str, parquet_files),
            "--out-dir",
            str(tmp_path / "ev"),
        ]
    )
    assert rc == 0, capsys.readouterr().err
    text = capsys.readouterr().out
    assert "AUC" in text and "d0sig-2nd" in text and "l1-mlp" in text
    assert (tmp_path / "ev" / "roc.png").stat().st_size > 1000
    res = json.loads((tmp_path / "ev" / "metrics.json").read_text())

    # independent check of the printed/written numbers
    from trigkit.events.parquet_io import read_parquet
    from trigkit.models.saved import load_model

    m = load_model(out)
    fs = FeatureSet.concatenate([m.features(read_parquet(p)) for p in parquet_files])
    sel = np.isin(fs.labels, [0, 2, 3])
    d = m.discriminant(m.predict(fs))[sel]
    y = (fs.labels[sel] == 0).astype(int)
    assert res["model"]["auc"] == pytest.approx(mann_whitney_auc(d, y), abs=1e-9)
    assert res["model"]["n_params"] == 4389
    assert res["model"]["accuracy"] == pytest.approx(np.mean(m.predict(fs).argmax(1) == fs.labels))
    base = fs.inputs["jets"][sel, fs.feature_names.index("d0sig_2")]
    assert res["baselines"][0]["auc"] == pytest.approx(mann_whitney_auc(base, y), abs=1e-9)
    rej70 = res["model"]["rejection"]["0.7"]
    cut = np.sort(d[y == 1])[::-1][int(0.7 * y.sum()) - 1]
    direct = 1.0 / np.mean(d[y == 0] >= cut)
    assert rej70 == pytest.approx(direct, rel=0.15)  # interpolated vs nearest jet


def test_cli_errors_are_one_line(parquet_files, tmp_path, capsys):
    rc = main(
        [
            "train",
            "--model",
            "nope",
            "--events",
            str(parquet_files[0]),
            "--out",
            str(tmp_path / "m.pt"),
        ]
    )
    err = capsys.readouterr().err
    assert rc == 1 and "unknown model 'nope'; valid:" in err and "Traceback" not in err
    bad = tmp_path / "bad.pt"
    bad.write_text("x")
    rc = main(
        ["evaluate", str(bad), "--events", str(parquet_files[0]), "--out-dir", str(tmp_path / "o")]
    )
    assert rc == 1 and "unknown model format" in capsys.readouterr().err
    assert not (tmp_path / "m.pt").exists() and not (tmp_path / "o").exists()


def test_models_list(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    for name in (
        "btag-deepsets",
        "btag-gn2lite",
        "xbb-pfn",
        "xbb-attention",
        "l1-mlp",
        "l1-deepsets",
    ):
        assert name in out
