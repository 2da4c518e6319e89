"""Magnitude pruning: exact sparsity per schedule, structured rows, masks through fine-tuning."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from trigkit.compile.prune import (
    PruningSchedule,
    apply_masks,
    make_permanent,
    masks_of,
    prunable_layers,
    prune,
    prune_to,
    sparsity_report,
)
from trigkit.core.errors import TrigkitError


def mlp(seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(16, 64),
        nn.ReLU(),
        nn.Linear(64, 32),
        nn.ReLU(),
        nn.Linear(32, 32),
        nn.ReLU(),
        nn.Linear(32, 5),
    )


def data(n: int = 256, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 16, generator=g)
    y = (x[:, 0] > 0).long() + 2 * (x[:, 1] > 0).long()
    return x, y


def adam_finetune(x: torch.Tensor, y: torch.Tensor, steps_per_epoch: int = 5):
    def finetune(module: nn.Module, epochs: int) -> None:
        opt = torch.optim.AdamW(module.parameters(), lr=5e-2, weight_decay=0.1)
        for _ in range(epochs * steps_per_epoch):
            opt.zero_grad()
            nn.functional.cross_entropy(module(x), y).backward()
            opt.step()

    return finetune


def zeros(t: torch.Tensor) -> int:
    return int((t == 0).sum())


# --- schedule validation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"target_sparsity": 1.0},
        {"target_sparsity": -0.1},
        {"target_sparsity": 0.5, "steps": 0},
        {"target_sparsity": 0.5, "finetune_epochs": -1},
        {"target_sparsity": 0.5, "structured": True, "scope": "global"},
        {"target_sparsity": 0.5, "norm": "l2"},
        {"target_sparsity": 0.5, "ramp": "exponential"},
        {"target_sparsity": 0.5, "sparsity": 0.5},
    ],
)
def test_bad_schedule_is_a_trigkit_error(kwargs: dict) -> None:
    with pytest.raises(TrigkitError, match="PruningSchedule"):
        PruningSchedule(**kwargs)


def test_ramp_values() -> None:
    lin = PruningSchedule(target_sparsity=0.8, steps=4, ramp="linear")
    cub = PruningSchedule(target_sparsity=0.8, steps=4, ramp="cubic")
    assert [lin.sparsity_at(k) for k in (1, 2, 3, 4)] == pytest.approx([0.2, 0.4, 0.6, 0.8])
    assert [cub.sparsity_at(k) for k in (1, 2, 3, 4)] == pytest.approx(
        [0.8 * (1 - 0.75**3), 0.8 * (1 - 0.5**3), 0.8 * (1 - 0.25**3), 0.8]
    )
    with pytest.raises(TrigkitError, match="step 5"):
        lin.sparsity_at(5)


def test_layer_selection_and_bad_names() -> None:
    model = mlp()
    sched = PruningSchedule(target_sparsity=0.5)
    assert [n for n, _ in prunable_layers(model, sched)] == ["0", "2", "4"]  # output "6" kept
    sched = PruningSchedule(target_sparsity=0.5, exclude=("0",), keep_output_layer=False)
    assert [n for n, _ in prunable_layers(model, sched)] == ["2", "4", "6"]
    with pytest.raises(TrigkitError, match="no weight layer named 'fc9'"):
        prunable_layers(model, PruningSchedule(target_sparsity=0.5, exclude=("fc9",)))
    one = nn.Sequential(nn.Linear(4, 2))
    with pytest.raises(TrigkitError, match="nothing to prune"):
        prune(one, PruningSchedule(target_sparsity=0.5))


# --- exact sparsity ----------------------------------------------------------------------------


def test_global_unstructured_exact_at_every_step() -> None:
    model = mlp()
    original = {
        n: m.weight.detach().clone() for n, m in model.named_modules() if isinstance(m, nn.Linear)
    }
    sched = PruningSchedule(target_sparsity=0.75, steps=3, finetune_epochs=0)
    layers = prunable_layers(model, sched)
    n_total = sum(m.weight.numel() for _, m in layers)
    previous: dict[str, torch.Tensor] = {}
    for step in (1, 2, 3):
        prune_to(layers, sched.sparsity_at(step), sched)
        assert sum(zeros(m.weight) for _, m in layers) == round(sched.sparsity_at(step) * n_total)
        for name, m in layers:  # what was pruned stays pruned
            if name in previous:
                assert bool((m.weight[previous[name]] == 0).all())
            previous[name] = m.weight == 0
    # global magnitude: every pruned weight was no larger than every kept one
    pruned = torch.cat([original[n].abs()[m.weight == 0] for n, m in layers])
    kept = torch.cat([original[n].abs()[m.weight != 0] for n, m in layers])
    assert pruned.max() <= kept.min()
    assert zeros(model[6].weight) == 0


def test_per_layer_unstructured_exact() -> None:
    model = mlp()
    report = prune(model, PruningSchedule(target_sparsity=0.6, steps=2, scope="layer"))
    for row, (_, m) in zip(
        report.rows,
        [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Linear)],
        strict=True,
    ):
        expected = round(0.6 * m.weight.numel()) if row.pruned else 0
        assert zeros(m.weight) == expected == row.n_zero
        assert row.sparsity == pytest.approx(expected / m.weight.numel())


@pytest.mark.parametrize("norm", ["l1", "l2"])
def test_structured_removes_whole_rows(norm: str) -> None:
    model = mlp()
    w0 = model[2].weight.detach().clone()
    norms = w0.abs().sum(1) if norm == "l1" else w0.pow(2).sum(1).sqrt()
    sched = PruningSchedule(target_sparsity=0.5, steps=1, structured=True, norm=norm)
    report = prune(model, sched)
    for name, m in prunable_layers(model, sched):
        dead = (m.weight == 0).all(1)
        assert int(dead.sum()) == round(0.5 * m.out_features)
        assert bool((m.bias[dead] == 0).all())
        assert not bool((m.weight[~dead] == 0).any())  # no stray single-weight zeros
        row = next(r for r in report.rows if r.layer == name)
        assert row.n_rows_zero == int(dead.sum()) and row.n_zero == int(dead.sum()) * m.in_features
    dead2 = (model[2].weight == 0).all(1)
    assert set(torch.argsort(norms, stable=True)[:16].tolist()) == set(
        torch.nonzero(dead2).flatten().tolist()
    )


# --- masks through fine-tuning -----------------------------------------------------------------


def test_masks_survive_finetuning_and_become_permanent() -> None:
    model = mlp()
    x, y = data()
    sched = PruningSchedule(target_sparsity=0.8, steps=3, finetune_epochs=2)
    seen: list[int] = []
    inner = adam_finetune(x, y)

    def finetune(module: nn.Module, epochs: int) -> None:
        masks = {n: m.weight_mask.clone() for n, m in prunable_layers(module, sched)}
        before = {n: m.weight_orig.detach().clone() for n, m in prunable_layers(module, sched)}
        inner(module, epochs)
        module(x)  # the forward pre-hook recomputes weight = weight_orig * weight_mask
        for n, m in prunable_layers(module, sched):
            assert bool((m.weight[masks[n] == 0] == 0).all())
            assert not torch.equal(m.weight_orig, before[n])  # training did move the weights
        seen.append(epochs)

    report = prune(model, sched, finetune=finetune)
    assert seen == [2, 2, 2]
    keys = set(model.state_dict())
    assert not any(k.endswith(("_orig", "_mask")) for k in keys)
    n_total = sum(m.weight.numel() for _, m in prunable_layers(model, sched))
    assert (
        report.n_zero
        == round(0.8 * n_total)
        == sum(zeros(m.weight) for _, m in prunable_layers(model, sched))
    )
    assert isinstance(model[0].weight, nn.Parameter)


def test_masks_transfer_to_a_copy() -> None:
    model = mlp()
    prune(model, PruningSchedule(target_sparsity=0.5, steps=1))
    masks = masks_of(model)
    assert set(masks) == {"0.weight", "2.weight", "4.weight"}
    other = mlp(seed=3)
    apply_masks(other, masks)
    x, y = data()
    adam_finetune(x, y)(other, 2)
    other(x)
    for key, keep in masks.items():
        layer = other[int(key.split(".")[0])]
        assert bool((layer.weight[~keep] == 0).all())
    make_permanent(other)
    assert all(torch.equal(other.state_dict()[k] != 0, v) for k, v in masks.items())
    with pytest.raises(TrigkitError, match="shape"):
        apply_masks(mlp(), {"0.weight": torch.ones(3, 3, dtype=torch.bool)})
    with pytest.raises(TrigkitError, match="no matching parameter"):
        apply_masks(mlp(), {"9.weight": torch.ones(3, 3, dtype=torch.bool)})


# --- report -------------------------------------------------------------------------------------


def test_report_matches_hand_counts() -> None:
    model = mlp()
    with torch.no_grad():
        model[0].weight[:3, :] = 0.0  # 3 whole rows = 48 zeros
        model[2].weight[0, :10] = 0.0  # 10 zeros, no whole row
    sched = PruningSchedule(target_sparsity=0.5)
    report = sparsity_report(model, sched, metric_name="acc", metric_before=0.9, metric_after=0.85)
    by = {r.layer: r for r in report.rows}
    assert (by["0"].n_weights, by["0"].n_zero, by["0"].n_rows_zero) == (1024, 48, 3)
    assert (by["2"].n_weights, by["2"].n_zero, by["2"].n_rows_zero) == (2048, 10, 0)
    assert by["6"].pruned is False and by["6"].n_zero == 0
    assert report.sparsity == pytest.approx(58 / (1024 + 2048 + 1024))
    assert report.overall_sparsity == pytest.approx(58 / (1024 + 2048 + 1024 + 160))
    assert report.metric_change == pytest.approx(-0.05)
    assert report.to_dict()["layers"][0]["sparsity"] == pytest.approx(48 / 1024)


def test_metric_before_and_after() -> None:
    model = mlp()
    x, y = data()

    def acc(m: nn.Module) -> float:
        with torch.no_grad():
            return float((m(x).argmax(1) == y).double().mean())

    ref_before = acc(copy.deepcopy(model))
    report = prune(
        model,
        PruningSchedule(target_sparsity=0.5, steps=2, finetune_epochs=1),
        finetune=adam_finetune(x, y),
        evaluate=acc,
        metric_name="accuracy",
    )
    assert report.metric_before == pytest.approx(ref_before)
    assert report.metric_after == pytest.approx(acc(model))
    assert report.metric_after > report.metric_before  # fine-tuning learnt the toy task
