"""Width scan: metrics vs. fixed-point width, each point checked against an independent count."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from trigkit.compile import width_scan as W
from trigkit.compile.prune import PruningSchedule, prune
from trigkit.core.errors import TrigkitError
from trigkit.models.configs import MLPConfig
from trigkit.models.feature_set import FeatureSet
from trigkit.models.kinds import KINDS
from trigkit.models.preprocessing import Preprocessing
from trigkit.models.saved import TrainedModel
from trigkit.models.training import TensorData, fit
from trigkit.report.compression import plot_width_scan


def l1_features(n: int, seed: int) -> FeatureSet:
    """Synthetic l1jets features whose class depends on a few of the 16 columns."""
    spec = KINDS["l1jets"]
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 16)).astype(np.float32)
    logits = x[:, :5] * 2.0 + 0.5 * x[:, 5:10]
    labels = np.argmax(logits + rng.gumbel(size=(n, 5)) * 0.3, axis=1).astype(np.int64)
    return FeatureSet(
        kind="l1jets",
        inputs={"jets": x},
        feature_names=spec.feature_names,
        labels=labels,
        class_names=spec.class_names,
        event_index=np.arange(n),
        object_index=np.zeros(n, np.int64),
        weights=np.ones(n),
        source=f"synthetic seed {seed}",
    )


@pytest.fixture(scope="module")
def setup() -> tuple[TrainedModel, FeatureSet, FeatureSet]:
    train, val = l1_features(3000, 1), l1_features(1500, 2)
    pre = Preprocessing.fit(train)
    config = MLPConfig(n_features=16, n_classes=5, hidden=(32, 16))
    torch.manual_seed(0)
    module = config.build()
    fit(module, train, val, preprocessing=pre, epochs=8, lr=3e-3, progress=False)
    model = TrainedModel("l1-mlp", module, pre, config, pre.input_names, train.class_names)
    return model, train, val


def independent(model: TrainedModel, logits: np.ndarray, val: FeatureSet) -> tuple[float, float]:
    probs = torch.softmax(torch.from_numpy(logits).double(), dim=1).numpy()
    sel = (val.labels == 0) | np.isin(val.labels, KINDS["l1jets"].background_classes)
    d, sig = model.discriminant(probs)[sel], val.labels[sel] == 0
    s, b = d[sig][:, None], d[~sig][None, :]
    auc = float(((s > b).sum() + 0.5 * (s == b).sum()) / (s.size * b.size))
    return auc, float(np.mean(np.argmax(probs, axis=1) == val.labels))


@pytest.mark.parametrize(
    ("text", "widths"),
    [("4..8", (4, 5, 6, 7, 8)), ("6", (6,)), ("8,4,6,4", (4, 6, 8)), (" 4 .. 5 ", (4, 5))],
)
def test_parse_bits(text: str, widths: tuple[int, ...]) -> None:
    assert W.parse_bits(text) == widths


@pytest.mark.parametrize(
    ("text", "message"),
    [("8..4", "above"), ("1..4", "outside"), ("4-8", "expected"), ("", "expected")],
)
def test_parse_bits_errors(text: str, message: str) -> None:
    with pytest.raises(TrigkitError, match=message):
        W.parse_bits(text)


def test_post_training_scan_points_match_the_qat_model(setup) -> None:
    from trigkit.compile.qat import QATConfig, quantize_module

    model, train, val = setup
    scan = W.scan(model, train, val, (4, 8, 16), finetune=False)
    assert [p.bits for p in scan.points] == [4, 8, 16] and not scan.finetuned and scan.epochs == 0
    x_val = torch.from_numpy(TensorData.from_features(val, model.preprocessing).inputs[0])
    x_cal = TensorData.from_features(train, model.preprocessing).inputs[0]
    with torch.no_grad():
        f_auc, f_acc = independent(model, model.module(x_val).numpy(), val)
        assert (scan.float_auc, scan.float_accuracy) == pytest.approx((f_auc, f_acc), abs=1e-6)
        for p in scan.points:
            qat = quantize_module(model.module, QATConfig(bits=p.bits), x_cal[: W.CALIB_ROWS])
            auc, acc = independent(model, qat(x_val).numpy(), val)
            assert (p.auc, p.accuracy) == pytest.approx((auc, acc), abs=1e-9)
    by = {p.bits: p for p in scan.points}
    assert abs(scan.change(by[16], "accuracy")) < 0.005  # 16 bits is as good as float
    assert by[4].accuracy < by[16].accuracy
    assert scan.smallest_within(0.005) in (8, 16)
    assert scan.to_dict()["points"][0]["bits"] == 4


def test_qat_finetuning_holds_pruned_zeros(setup) -> None:
    model, train, val = setup
    pruned = TrainedModel(**{**model.__dict__, "module": _pruned_copy(model.module)})
    tr = TensorData.from_features(train, model.preprocessing)
    zeros_before = [
        lin.weight == 0 for lin in pruned.module.modules() if isinstance(lin, torch.nn.Linear)
    ]
    calls = []

    def finetune(m: torch.nn.Module, epochs: int) -> None:
        calls.append(epochs)
        fit(m, tr, None, epochs=epochs, lr=1e-2, progress=False)

    qm, config = W.quantize_at(pruned.module, 6, tr, epochs=2, finetune=finetune)
    assert calls == [2]
    lins = list(qm.qat.linears)
    originals = [lin.weight for lin in pruned.module.modules() if isinstance(lin, torch.nn.Linear)]
    for lin, was_zero, orig in zip(lins, zeros_before, originals, strict=True):
        assert torch.equal(lin.weight == 0, was_zero)  # the pruned zeros, and only they
        assert not torch.equal(lin.weight, orig)  # while the other weights were trained
    assert set(config.layers) == {"fc1", "fc2", "fc3"}
    assert config.layers["fc1"].weight.startswith("ap_fixed<6,")
    assert config.layers["fc1"].activation.startswith("ap_ufixed<6,")
    assert W.qat_widths(config)["fc3"]["activation"] is None  # no ReLU after the logits


def _pruned_copy(module: torch.nn.Module) -> torch.nn.Module:
    import copy

    m = copy.deepcopy(module)
    prune(m, PruningSchedule(target_sparsity=0.6, steps=1, finetune_epochs=0))
    return m


def test_finetuned_scan_and_plot(setup, tmp_path) -> None:
    model, train, val = setup
    scan = W.scan(model, train, val, (4,), finetune=True, epochs=2, lr=3e-3)
    ptq = W.scan(model, train, val, (4,), finetune=False)
    assert scan.finetuned and scan.epochs == 2
    assert scan.points[0].accuracy >= ptq.points[0].accuracy - 0.01  # QAT recovers what 4 bits lose
    png = plot_width_scan(scan, tmp_path / "scan.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(TrigkitError, match="epochs >= 1"):
        W.scan(model, train, val, (6,), finetune=True, epochs=0)


def test_refuses_what_it_cannot_quantize(setup) -> None:
    model, train, _ = setup
    two = TensorData(
        (np.zeros((4, 3), np.float32), np.ones((4, 3), np.float32)), np.zeros(4, np.int64)
    )
    with pytest.raises(TrigkitError, match="one input"):
        W.quantize_at(model.module, 6, two)
    tr = TensorData.from_features(train, model.preprocessing)
    with pytest.raises(TrigkitError, match="outside 2..32"):
        W.quantize_at(model.module, 40, tr)
    with pytest.raises(TrigkitError, match="range quantile"):
        W.quantize_at(model.module, 6, tr, range_quantile=0.3)
    with pytest.raises(TrigkitError, match="LayerNorm"):
        W.quantize_at(torch.nn.Sequential(torch.nn.Linear(16, 4), torch.nn.LayerNorm(4)), 6, tr)


def test_range_quantile_buys_fraction_bits(setup) -> None:
    from trigkit.fixedpoint.fixed import FixedType

    model, train, _ = setup
    tr = TensorData.from_features(train, model.preprocessing)
    _, full = W.quantize_at(model.module, 6, tr)
    _, q90 = W.quantize_at(model.module, 6, tr, range_quantile=0.9)
    ints = lambda cfg: [FixedType.parse(cfg.layers[n].activation).integer for n in ("fc1", "fc2")]  # noqa: E731
    assert all(a <= b for a, b in zip(ints(q90), ints(full), strict=True)) and ints(q90) != ints(
        full
    )
    assert q90.range_quantile == 0.9 and FixedType.parse(q90.input_type).width == 16
