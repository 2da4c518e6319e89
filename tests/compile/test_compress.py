"""`compress()` and `trigkit compress` on a small l1-mlp trained on generated events."""

from __future__ import annotations

import dataclasses
import importlib.util

import numpy as np
import pytest
import torch

from trigkit.cli.app import main
from trigkit.compile.compress import (
    CompressConfig,
    Int8Options,
    PruningSchedule,
    QATOptions,
    compress,
    load_features,
)
from trigkit.core.errors import TrigkitError
from trigkit.events.batch import EventBatch
from trigkit.models.feature_set import FeatureSet
from trigkit.models.kinds import KINDS
from trigkit.models.saved import TrainedModel, load_model
from trigkit.models.training import TensorData, split

HAVE_ORT = importlib.util.find_spec("onnxruntime") is not None


@pytest.fixture(scope="module")
def events() -> list[EventBatch]:
    from trigkit.events.generator import generate

    return [generate("hh4b", 400, seed=11), generate("qcd", 400, seed=12)]


@pytest.fixture(scope="module")
def trained(events: list[EventBatch]) -> TrainedModel:
    from trigkit.models.training import train

    return train("l1-mlp", events, epochs=6, seed=0, progress=False)


@pytest.fixture(scope="module")
def data(trained: TrainedModel, events: list[EventBatch]) -> tuple[FeatureSet, FeatureSet]:
    fs = FeatureSet.concatenate([trained.features(b) for b in events])
    return split(fs, 0.3, 0)


def mann_whitney(scores: np.ndarray, sig: np.ndarray) -> float:
    """Independent AUC: P(s_sig > s_bkg) + P(=)/2 by pairwise comparison in float64."""
    s, b = scores[sig][:, None], scores[~sig][None, :]
    return float(((s > b).sum() + 0.5 * (s == b).sum()) / (s.size * b.size))


def reference_metrics(
    model: TrainedModel, probs: np.ndarray, fs: FeatureSet
) -> tuple[float, float]:
    spec = KINDS[fs.kind]
    sel = (fs.labels == 0) | np.isin(fs.labels, spec.background_classes)
    auc = mann_whitney(model.discriminant(probs)[sel], fs.labels[sel] == 0)
    return auc, float(np.mean(np.argmax(probs, axis=1) == fs.labels))


# --- configuration ------------------------------------------------------------------------------


def test_config_errors() -> None:
    with pytest.raises(TrigkitError, match="nothing to do"):
        CompressConfig()
    with pytest.raises(TrigkitError, match="target_sparsity"):
        CompressConfig(prune={"target_sparsity": 1.5})
    with pytest.raises(TrigkitError, match="QATOptions.bits"):
        QATOptions(bits=1)
    with pytest.raises(TrigkitError, match="calibration"):
        Int8Options(calibration="minmax", onnx_out="x.onnx")
    with pytest.raises(TrigkitError, match="lr"):
        CompressConfig(prune=PruningSchedule(target_sparsity=0.5), lr=0)


def test_bad_data(trained: TrainedModel, data: tuple[FeatureSet, FeatureSet]) -> None:
    train, val = data
    cfg = CompressConfig(prune=PruningSchedule(target_sparsity=0.5, steps=1, finetune_epochs=0))
    with pytest.raises(TrigkitError, match="training set is empty"):
        compress(trained, train.select(slice(0, 0)), val, cfg)
    with pytest.raises(TrigkitError, match="uses l1jets features"):
        compress(trained, dataclasses.replace(train, kind="tracks"), val, cfg)


# --- pruning + metrics --------------------------------------------------------------------------


def test_prune_stage_exact_and_metrics_checked(
    trained: TrainedModel, data: tuple[FeatureSet, FeatureSet], tmp_path
) -> None:
    train, val = data
    before = {k: v.clone() for k, v in trained.module.state_dict().items()}
    cfg = CompressConfig(prune=PruningSchedule(target_sparsity=0.75, steps=2, finetune_epochs=1))
    result = compress(trained, train, val, cfg)
    # the input model is untouched
    assert all(torch.equal(v, trained.module.state_dict()[k]) for k, v in before.items())
    # sparsity: hand count of zeros in the pruned layers (all Linear layers but the output one)
    linears = [m for m in result.model.module.modules() if isinstance(m, torch.nn.Linear)]
    n = sum(m.weight.numel() for m in linears[:-1])
    zeros = sum(int((m.weight == 0).sum()) for m in linears[:-1])
    assert zeros == round(0.75 * n) == result.prune.n_zero
    assert int((linears[-1].weight == 0).sum()) == 0
    # stage metrics against an independent AUC / accuracy on TrainedModel.predict
    for stage, model in (("float", trained), ("pruned", result.model)):
        auc, acc = reference_metrics(model, model.predict(val).astype(np.float64), val)
        assert result.stage(stage).auc == pytest.approx(auc, abs=1e-4)  # float32 vs float64 softmax
        assert result.stage(stage).accuracy == pytest.approx(acc, abs=2 / len(val))
    assert result.prune.metric_before == pytest.approx(result.stage("float").auc)
    assert result.prune.metric_after == pytest.approx(result.stage("pruned").auc)
    assert result.stage("pruned").nonzero_params == result.stage("float").nonzero_params - zeros
    # the file keeps the zeros and says how it was made
    path = result.model.save(tmp_path / "small.pt")
    back = load_model(path)
    assert back.name == "l1-mlp-pruned"
    assert back.extra["pruning"]["sparsity"] == pytest.approx(0.75, abs=1 / n)
    assert [(s["stage"], s["auc"]) for s in back.extra["compression"]] == [
        (s.stage, s.auc) for s in result.stages
    ]
    got = sum(
        int((m.weight == 0).sum()) for m in back.module.modules() if isinstance(m, torch.nn.Linear)
    )
    assert got == zeros


def test_prune_then_qat_keeps_zeros_and_file_reproduces_qat(
    trained: TrainedModel, data: tuple[FeatureSet, FeatureSet], tmp_path
) -> None:
    from trigkit.compile.qat import QATConfig, quantize_module

    train, val = data
    cfg = CompressConfig(
        prune=PruningSchedule(target_sparsity=0.5, steps=1, finetune_epochs=1),
        qat=QATOptions(bits=6, epochs=1),
    )
    result = compress(trained, train, val, cfg)
    assert [s.stage for s in result.stages] == ["float", "pruned", "qat"]
    qat_lin = list(result.qat_module.qat.linears)
    flt_lin = [m for m in result.model.module.modules() if isinstance(m, torch.nn.Linear)]
    n_zero = result.prune.n_zero
    assert sum(int((m.weight == 0).sum()) for m in qat_lin) == n_zero  # QAT kept the pruned zeros
    for q, f in zip(qat_lin, flt_lin, strict=True):
        assert torch.equal(q.weight, f.weight)  # saved model holds the QAT-trained weights
    # the saved file + its pinned QAT config rebuild the same quantized model, bit for bit
    back = load_model(result.model.save(tmp_path / "qat.pt"))
    assert back.name == "l1-mlp-pruned-qat6"
    assert result.qat_module.qat.plan.input_t.hls() == back.extra["qat"]["input_type"]
    # types are pinned: other calibration data rebuilds the same types
    other_calib = np.random.default_rng(5).normal(size=(100, 16)).astype(np.float32)
    rebuilt = quantize_module(back.module, QATConfig(**back.extra["qat"]), other_calib)

    def types(plan):
        return [(x.name, x.result_t, x.weight_t, x.bias_t, x.accum_t) for x in plan.layers]

    assert rebuilt.plan.input_t == result.qat_module.qat.plan.input_t
    assert types(rebuilt.plan) == types(result.qat_module.qat.plan)
    assert {
        k for k, v in back.extra["qat"]["layers"].items() if v["weight"].startswith("ap_fixed<6,")
    } == {"fc1", "fc2", "fc3", "fc4"}
    x = torch.from_numpy(TensorData.from_features(val, back.preprocessing).inputs[0])
    with torch.no_grad():
        assert torch.equal(rebuilt(x).float(), result.qat_module(x))
        probs = torch.softmax(result.qat_module(x).double(), dim=1).numpy()
    auc, acc = reference_metrics(trained, probs, val)
    assert result.stage("qat").auc == pytest.approx(auc, abs=1e-9)
    assert result.stage("qat").accuracy == pytest.approx(acc, abs=1e-12)


@pytest.mark.skipif(not HAVE_ORT, reason="onnxruntime not installed (gpu extra)")
def test_int8_stage_measured_in_onnxruntime(
    trained: TrainedModel, data: tuple[FeatureSet, FeatureSet], tmp_path
) -> None:
    from trigkit.compile.int8 import check_qdq
    from trigkit.compile.onnx_export import onnx_probabilities

    train, val = data
    out = tmp_path / "m.int8.onnx"
    result = compress(
        trained, train, val, CompressConfig(int8=Int8Options(calibration="max", onnx_out=out))
    )
    assert result.int8_onnx == out and out.is_file()
    assert check_qdq(out).quantize_nodes > 0
    va = TensorData.from_features(val, trained.preprocessing)
    probs = onnx_probabilities(out, dict(zip(trained.input_names, va.inputs, strict=True)))
    auc, acc = reference_metrics(trained, probs.astype(np.float64), val)
    assert result.stage("int8").auc == pytest.approx(auc, abs=1e-9)
    assert result.stage("int8").accuracy == pytest.approx(acc, abs=1e-12)
    assert abs(result.change("int8", "auc")) < 0.02


# --- command line --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def files(trained: TrainedModel, events: list[EventBatch], tmp_path_factory) -> dict[str, str]:
    from trigkit.events.parquet_io import write_parquet

    d = tmp_path_factory.mktemp("compress-cli")
    paths = {"model": str(trained.save(d / "l1.pt")), "dir": str(d)}
    for b in events:
        paths[b.process] = str(d / f"{b.process}.parquet")
        write_parquet([b], paths[b.process])
    return paths


def test_cli_prune_prints_tables_and_writes(files: dict[str, str], capsys) -> None:
    out = f"{files['dir']}/small.pt"
    rc = main(
        [
            "compress",
            files["model"],
            "--events",
            files["hh4b"],
            files["qcd"],
            "--out",
            out,
            "--prune",
            "0.6",
            "--steps",
            "1",
            "--epochs",
            "1",
            "--max-jets",
            "3000",
        ]
    )
    text = capsys.readouterr().out
    assert rc == 0, text
    assert "pruned layers" in text and "60.0%" in text and "net.6 (kept)" in text
    assert "float" in text and "pruned" in text
    model = load_model(out)
    linears = [m for m in model.module.modules() if isinstance(m, torch.nn.Linear)]
    n = sum(m.weight.numel() for m in linears[:-1])
    assert sum(int((m.weight == 0).sum()) for m in linears[:-1]) == round(0.6 * n)


def test_cli_train_split_is_reused(trained: TrainedModel, files: dict[str, str]) -> None:
    from pathlib import Path

    from trigkit.models.training import features_of

    _, val = load_features(trained, [Path(files["hh4b"]), Path(files["qcd"])], seed=0)
    _, ref_val = split(features_of("l1-mlp", _read(files)), 0.2, 0)  # what `train` held out
    assert np.array_equal(val.inputs["jets"], ref_val.inputs["jets"])


def _read(files: dict[str, str]) -> list[EventBatch]:
    from trigkit.events.sources import open_events

    return [open_events(files["hh4b"]), open_events(files["qcd"])]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--prune", "1.5"], "target_sparsity"),
        (["--prune", "0.5", "--structured", "--scope", "global"], "scope='layer'"),
        (["--qat-bits", "6", "--bits", "4..8"], "exclude each other"),
        (["--bits", "4..40"], "outside 2..32"),
        (["--prune", "0.5", "--norm", "l3"], "norm"),
    ],
)
def test_cli_bad_input_is_one_line(
    files: dict[str, str], capsys, args: list[str], message: str
) -> None:
    rc = main(
        [
            "compress",
            files["model"],
            "--events",
            files["hh4b"],
            "--out",
            f"{files['dir']}/x.pt",
            *args,
        ]
    )
    err = capsys.readouterr().err
    assert rc == 1
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


def test_cli_missing_files(files: dict[str, str], capsys) -> None:
    assert (
        main(["compress", f"{files['dir']}/nope.pt", "--events", files["hh4b"], "--out", "x.pt"])
        == 1
    )
    assert "does not exist" in capsys.readouterr().err
    assert (
        main(["compress", files["model"], "--out", f"{files['dir']}/x.pt", "--prune", "0.5"]) == 1
    )
    assert "no event files" in capsys.readouterr().err
