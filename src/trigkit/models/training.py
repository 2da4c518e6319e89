"""Training: Adam on (class-balanced) cross-entropy with early stopping on the validation loss.

``fit`` trains any module on preprocessed tensors (compression code reuses it for fine-tuning);
``train`` goes from events to a :class:`~trigkit.models.saved.TrainedModel`. Given the same seed,
data and thread count, training is deterministic. Event weights are not used in the loss: jets
are weighted per class so that every class counts equally.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from trigkit.core.errors import TrigkitError
from trigkit.events.batch import EventBatch
from trigkit.models.baselines import fit_baselines
from trigkit.models.configs import with_overrides
from trigkit.models.evaluation import evaluate
from trigkit.models.feature_set import FeatureSet
from trigkit.models.features import extract
from trigkit.models.preprocessing import Preprocessing
from trigkit.models.registry import get_spec
from trigkit.models.saved import TrainedModel

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TensorData:
    """Preprocessed model inputs (in ``input_names`` order) and integer labels."""

    inputs: tuple[np.ndarray, ...]
    labels: np.ndarray

    def __post_init__(self) -> None:
        if any(len(x) != len(self.labels) for x in self.inputs):
            raise TrigkitError(
                f"inputs of lengths {[len(x) for x in self.inputs]} for {len(self.labels)} labels"
            )

    def __len__(self) -> int:
        return len(self.labels)

    @classmethod
    def from_features(cls, fs: FeatureSet, pre: Preprocessing) -> TensorData:
        return cls(pre.transform(fs), fs.labels)


@dataclass(frozen=True)
class TrainingHistory:
    train_loss: tuple[float, ...]
    val_loss: tuple[float, ...]
    best_epoch: int  # 0-based
    stopped_early: bool

    @property
    def best_val_loss(self) -> float:
        return self.val_loss[self.best_epoch]


def class_weights(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """N / (K n_c) per class (0 for absent classes)."""
    counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
    present = counts > 0
    w = np.zeros(n_classes)
    w[present] = counts.sum() / (present.sum() * counts[present])
    return w


def _loss(module: nn.Module, data: TensorData, weight: torch.Tensor, batch_size: int) -> float:
    """Class-weighted mean cross-entropy over all of ``data`` (same normalisation as one batch)."""
    module.eval()
    total, norm = 0.0, 0.0
    with torch.no_grad():
        for i in range(0, len(data), batch_size):
            xs = [torch.from_numpy(x[i : i + batch_size]) for x in data.inputs]
            y = torch.from_numpy(data.labels[i : i + batch_size])
            total += float(
                nn.functional.cross_entropy(module(*xs), y, weight=weight, reduction="sum")
            )
            norm += float(weight[y].sum())
    return total / max(norm, 1e-12)


def _as_tensors(d: TensorData | FeatureSet, pre: Preprocessing | None, what: str) -> TensorData:
    if isinstance(d, TensorData):
        return d
    if pre is None:
        raise TrigkitError(f"fit: {what} is a FeatureSet, so a Preprocessing is needed")
    return TensorData.from_features(d, pre)


def fit(
    module: nn.Module,
    train: TensorData | FeatureSet,
    val: TensorData | FeatureSet | None = None,
    *,
    preprocessing: Preprocessing | None = None,
    epochs: int = 30,
    lr: float = 1e-3,
    batch_size: int = 512,
    patience: int = 5,
    seed: int = 0,
    weight_decay: float = 0.0,
    progress: bool = True,
    balance_classes: bool = True,
) -> TrainingHistory:
    """Train ``module`` in place; restores the weights of the epoch with the best validation
    loss (training loss when ``val`` is None) and leaves the module in eval mode."""
    tr = _as_tensors(train, preprocessing, "train")
    va = _as_tensors(val, preprocessing, "val") if val is not None and len(val) else tr
    if len(tr) == 0:
        raise TrigkitError("empty training set: no labelled jets to train on")
    if epochs < 1 or batch_size < 1 or lr <= 0:
        raise TrigkitError(
            f"need epochs >= 1, batch_size >= 1, lr > 0 (got {epochs}, {batch_size}, {lr})"
        )
    with torch.no_grad():
        n_classes = int(module(*(torch.from_numpy(x[:1]) for x in tr.inputs)).shape[1])
    if tr.labels.max() >= n_classes or tr.labels.min() < 0:
        raise TrigkitError(f"labels outside 0..{n_classes - 1} for a {n_classes}-class model")
    w = class_weights(tr.labels, n_classes) if balance_classes else np.ones(n_classes)
    weight = torch.tensor(w, dtype=torch.float32)
    crit = nn.CrossEntropyLoss(weight=weight)
    opt = torch.optim.Adam(module.parameters(), lr=lr, weight_decay=weight_decay)
    gen = torch.Generator().manual_seed(seed)
    tensors = [torch.from_numpy(x) for x in tr.inputs]
    labels = torch.from_numpy(tr.labels)
    best, best_state, best_epoch, bad = float("inf"), copy.deepcopy(module.state_dict()), 0, 0
    tl: list[float] = []
    vl: list[float] = []
    with _progress(progress, epochs) as bar:
        for epoch in range(epochs):
            module.train()
            perm = torch.randperm(len(tr), generator=gen)
            run = 0.0
            for i in range(0, len(tr), batch_size):
                idx = perm[i : i + batch_size]
                opt.zero_grad()
                loss = crit(module(*(t[idx] for t in tensors)), labels[idx])
                loss.backward()
                opt.step()
                run += loss.item() * len(idx)
            tl.append(run / len(tr))
            vl.append(_loss(module, va, weight, 4 * batch_size))
            log.info("epoch %d: train loss %.4f, val loss %.4f", epoch + 1, tl[-1], vl[-1])
            bar.update(epoch + 1, tl[-1], vl[-1])
            if vl[-1] < best - 1e-6:
                best, best_state, best_epoch, bad = (
                    vl[-1],
                    copy.deepcopy(module.state_dict()),
                    epoch,
                    0,
                )
            else:
                bad += 1
                if bad >= patience:
                    break
    module.load_state_dict(best_state)
    module.eval()
    return TrainingHistory(tuple(tl), tuple(vl), best_epoch, stopped_early=len(tl) < epochs)


class _progress:
    """A rich progress bar over epochs (silent when disabled)."""

    def __init__(self, enabled: bool, epochs: int) -> None:
        self.enabled, self.epochs, self._p, self._task = enabled, epochs, None, None

    def __enter__(self) -> _progress:
        if self.enabled:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self._p = Progress(
                TextColumn("training"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                transient=True,
            )
            self._p.start()
            self._task = self._p.add_task("", total=self.epochs)
        return self

    def update(self, epoch: int, train_loss: float, val_loss: float) -> None:
        if self._p is not None:
            self._p.update(
                self._task, completed=epoch, description=f"loss {train_loss:.4f} val {val_loss:.4f}"
            )

    def __exit__(self, *exc: object) -> None:
        if self._p is not None:
            self._p.stop()


def split(fs: FeatureSet, val_fraction: float, seed: int) -> tuple[FeatureSet, FeatureSet]:
    """Random train/validation split of the rows of ``fs``."""
    if not 0.0 <= val_fraction < 1.0:
        raise TrigkitError(f"val_fraction must be in [0, 1), got {val_fraction}")
    perm = np.random.default_rng(seed).permutation(len(fs))
    n_val = int(round(val_fraction * len(fs)))
    return fs.select(np.sort(perm[n_val:])), fs.select(np.sort(perm[:n_val]))


def features_of(
    model_name: str,
    events: Sequence[EventBatch],
    max_objects: int | None = None,
    max_jets: int | None = None,
    seed: int = 0,
) -> FeatureSet:
    """Features of all ``events`` for ``model_name``, optionally subsampled to ``max_jets``."""
    spec = get_spec(model_name)
    if not events:
        raise TrigkitError("empty training set: no event batches given")
    n_max = max_objects or spec.config.max_objects or None
    fs = FeatureSet.concatenate([extract(spec.kind, b, max_objects=n_max) for b in events])
    if max_jets is not None and len(fs) > max_jets:
        keep = np.sort(np.random.default_rng(seed + 1).choice(len(fs), max_jets, replace=False))
        fs = fs.select(keep)
    return fs


def train(
    model_name: str,
    events: Sequence[EventBatch],
    *,
    seed: int = 0,
    epochs: int = 30,
    lr: float = 1e-3,
    batch_size: int = 512,
    patience: int = 5,
    val_fraction: float = 0.2,
    max_jets: int | None = None,
    max_objects: int | None = None,
    overrides: dict[str, object] | None = None,
    progress: bool = True,
) -> TrainedModel:
    """Events -> features -> preprocessing -> trained module (+ baselines and validation
    metrics)."""
    spec = get_spec(model_name)
    fs = features_of(model_name, events, max_objects, max_jets, seed)
    if len(fs) == 0:
        raise TrigkitError(
            f"empty training set: no labelled {spec.kind} objects in {fs.source or 'the events'}"
        )
    tr, va = split(fs, val_fraction, seed)
    pre = Preprocessing.fit(tr)
    updates = {**(overrides or {}), **({"max_objects": pre.max_objects} if pre.max_objects else {})}
    config = with_overrides(spec.config, updates, f"model '{model_name}'")
    torch.manual_seed(seed)
    module = config.build()
    history = fit(
        module,
        tr,
        va if len(va) else None,
        preprocessing=pre,
        epochs=epochs,
        lr=lr,
        batch_size=batch_size,
        patience=patience,
        seed=seed,
        progress=progress,
    )
    model = TrainedModel(
        model_name,
        module,
        pre,
        config,
        pre.input_names,
        fs.class_names,
        baselines=tuple(fit_baselines(tr)),
        extra={
            "seed": seed,
            "epochs_run": len(history.train_loss),
            "best_epoch": history.best_epoch,
            "n_train": len(tr),
            "n_val": len(va),
        },
    )
    if len(va):
        try:
            model.metrics = evaluate(model, va).as_dict()
        except TrigkitError as exc:
            log.warning("no validation metrics: %s", exc)
    return model
