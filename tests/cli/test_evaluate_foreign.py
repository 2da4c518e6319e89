"""`trigkit evaluate` on a tagger trained elsewhere (a model file or its bundle, a feature map):
its scores on trigkit's jets against trigkit's baselines, fitted on other jets.

References: each jet's score is looked up by walking ``batch.jets.to_list()`` in plain Python;
the AUC is the Mann-Whitney statistic counted pair by pair in float64.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.emulator.test_mapped_graph_inputs import MAP
from tests.importers import graph_models as gm
from trigkit.cli.app import main

pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from trigkit.events.generator import generate
    from trigkit.events.parquet_io import write_parquet

    d = tmp_path_factory.mktemp("evalforeign")
    write_parquet([generate("hh4b", 60, seed=3)], d / "hh4b.parquet")
    write_parquet([generate("qcd", 60, seed=4)], d / "qcd.parquet")
    (d / "map.yaml").write_text(MAP.replace("score: 1", "score: 0"))
    return {"dir": d, "onnx": gm.to_onnx(gm.particlenet(), d / "pn.onnx"), "map": d / "map.yaml"}


def test_jet_scores_follow_the_feature_rows(files) -> None:
    from trigkit.emulator.bundle_evaluation import jet_scores
    from trigkit.events.parquet_io import read_parquet
    from trigkit.models.features import extract

    batch = read_parquet(files["dir"] / "qcd.parquet")
    fs = extract("tracks", batch)
    flat = np.arange(sum(len(ev) for ev in batch.jets.to_list()), dtype=np.float64) * 0.5
    want, k = {}, 0
    for e, ev in enumerate(batch.jets.to_list()):
        for j in range(len(ev)):
            want[e, j] = flat[k]
            k += 1
    got = jet_scores(flat, batch, fs)
    assert [want[e, j] for e, j in zip(fs.event_index, fs.object_index, strict=True)] == list(got)
    assert len(set(fs.event_index)) > 10


def _mann_whitney(scores: np.ndarray, signal: np.ndarray) -> float:
    s, b = scores[signal], scores[~signal]
    wins = (s[:, None] > b[None, :]).sum() + 0.5 * (s[:, None] == b[None, :]).sum()
    return float(wins / (len(s) * len(b)))


def test_cli_on_the_file_and_on_its_bundle(files, tmp_path: Path) -> None:
    from trigkit.emulator.bundle_evaluation import jet_scores
    from trigkit.emulator.mapped_taggers import MappedGpuScores
    from trigkit.events.parquet_io import read_parquet
    from trigkit.models.features import extract

    d = files["dir"]
    ev_files = [str(d / "hh4b.parquet"), str(d / "qcd.parquet")]
    out = tmp_path / "ev"
    args = ["evaluate", str(files["onnx"]), *ev_files, "--feature-map", str(files["map"])]
    assert main([*args, "-o", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["model"]["name"] == "pn"
    assert [b["name"] for b in metrics["baselines"]] == ["ip3d", "d0sig-2nd"]
    assert "pf_mask <- track mask" in metrics["scores"]
    assert (out / "roc.png").stat().st_size > 0 and (out / "pn_gpu" / "manifest.json").is_file()
    # the same bundle again: the same numbers
    again = tmp_path / "again"
    bundle_args = ["evaluate", str(out / "pn_gpu"), *ev_files, "--feature-map", str(files["map"])]
    assert main([*bundle_args, "-o", str(again)]) == 0
    assert json.loads((again / "metrics.json").read_text())["model"] == metrics["model"]
    # the AUC by hand on the odd events' b and light jets
    src = MappedGpuScores(out / "pn_gpu", files["map"])
    scores, labels = [], []
    for path in ev_files:
        batch = read_parquet(Path(path))
        fs = extract("tracks", batch)
        odd = fs.event_index % 2 == 1
        scores.append(jet_scores(src.flat_scores(batch), batch, fs)[odd])
        labels.append(fs.labels[odd])
    x, y = np.concatenate(scores), np.concatenate(labels)
    keep = (y == 0) | (y == 2)
    assert metrics["n_objects"] == int(keep.sum())
    assert metrics["model"]["auc"] == pytest.approx(_mann_whitney(x[keep], y[keep] == 0), abs=1e-9)
    assert abs(metrics["model"]["auc"] - 0.5) > 0.05  # the scores depend on the jets
    assert "c_rejection_0.7" in metrics["model"]["extra"]


def test_bad_input(files, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = files["dir"]
    base = ["evaluate", str(files["onnx"]), str(d / "qcd.parquet"), "-o", str(tmp_path / "e")]
    assert main(base) == 1
    assert "needs --feature-map FILE with one entry per input" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text(MAP.replace("  pf_mask: {mask: true}\n", ""))
    assert main([*base, "--feature-map", str(bad)]) == 1
    assert "missing: pf_mask" in capsys.readouterr().err


def test_compress_says_where_a_foreign_model_is_quantized(
    files, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["compress", str(files["onnx"]), "--events", str(files["dir"] / "qcd.parquet")]
    assert main([*args, "--prune", "0.5", "--out", str(tmp_path / "c.pt")]) == 1
    err = capsys.readouterr().err
    assert "a model trained elsewhere" in err and "trigkit compile MODEL --target fpga" in err
    assert not (tmp_path / "c.pt").exists()
