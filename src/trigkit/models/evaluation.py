"""Evaluate a trained tagger and its physics baselines on the same jets."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from trigkit.core.errors import TrigkitError
from trigkit.models import metrics as M
from trigkit.models.baselines import Baseline, fit_baselines
from trigkit.models.feature_set import FeatureSet
from trigkit.models.kinds import KINDS
from trigkit.models.saved import TrainedModel

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Evaluation:
    """Metrics rows (model first, then baselines) and their ROC curves, signal vs background."""

    rows: tuple[M.TaggerMetrics, ...]
    rocs: tuple[M.Roc, ...]
    signal: str
    background: str
    n_objects: int

    @property
    def model(self) -> M.TaggerMetrics:
        return self.rows[0]

    @property
    def baselines(self) -> tuple[M.TaggerMetrics, ...]:
        return self.rows[1:]

    def as_dict(self) -> dict[str, object]:
        return {
            "signal": self.signal,
            "background": self.background,
            "n_objects": self.n_objects,
            "model": self.model.as_dict(),
            "baselines": [b.as_dict() for b in self.baselines],
        }


def evaluate(
    model: TrainedModel,
    fs: FeatureSet,
    *,
    baselines: tuple[Baseline, ...] | None = None,
    weights: np.ndarray | None = None,
) -> Evaluation:
    """Model and baseline metrics on the signal and background objects of ``fs``.

    Rejections are for ``KindSpec.background_classes`` (e.g. light jets); accuracy is over all
    classes. ``weights`` (per object) weight the ROC; by default every jet counts once.
    """
    if fs.kind != model.kind:
        raise TrigkitError(f"model '{model.name}' uses {model.kind} features, got {fs.kind}")
    sel, y, w = _selection(fs, weights)
    probs = model.predict(fs)
    row, curve = M.summarize(
        model.name,
        model.discriminant(probs)[sel],
        y,
        w,
        accuracy=M.accuracy(probs, fs.labels),
        n_params=M.n_params(model.module),
        macs=M.macs(model.module, model.preprocessing.input_shapes(), model.input_names),
        extra=_extra(model, probs, fs),
    )
    if baselines is None:
        baselines = model.baselines
        if not baselines:
            log.warning("model has no stored baselines; fitting them on the evaluation jets")
            baselines = tuple(fit_baselines(fs))
    return _with_baselines(row, curve, fs, baselines, sel, y, w)


def evaluate_scores(
    name: str,
    scores: np.ndarray,
    fs: FeatureSet,
    baselines: tuple[Baseline, ...],
    *,
    weights: np.ndarray | None = None,
) -> Evaluation:
    """Metrics of per-object ``scores`` (one per row of ``fs``, higher = more signal-like: a
    tagger trigkit only runs, e.g. a bundle of a model trained elsewhere) and of
    ``baselines``, on the same objects. A flavour kind also gets the c-jet rejection at 70 %."""
    sel, y, w = _selection(fs, weights)
    scores = np.asarray(scores, dtype=np.float64)
    if scores.shape != (len(fs),):
        raise TrigkitError(f"{name}: {scores.shape} scores for {len(fs)} objects of {fs.source}")
    extra = _c_rejection(scores, fs) if fs.class_names[:2] == ("b", "c") else {}
    row, curve = M.summarize(name, scores[sel], y, w, extra=extra)
    return _with_baselines(row, curve, fs, baselines, sel, y, w)


def _selection(
    fs: FeatureSet, weights: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(signal-or-background mask, is-signal of those, their weights); both must occur."""
    spec = KINDS[fs.kind]
    sel = (fs.labels == 0) | np.isin(fs.labels, spec.background_classes)
    if not (fs.labels[sel] == 0).any() or (fs.labels[sel] == 0).all():
        raise TrigkitError(
            f"{fs.source}: need both {spec.class_names[0]} and background "
            f"({'/'.join(spec.class_names[c] for c in spec.background_classes)}) "
            "objects to evaluate"
        )
    w = None if weights is None else np.asarray(weights)[sel]
    return sel, fs.labels[sel] == 0, w


def _with_baselines(
    row: M.TaggerMetrics,
    curve: M.Roc,
    fs: FeatureSet,
    baselines: tuple[Baseline, ...],
    sel: np.ndarray,
    y: np.ndarray,
    w: np.ndarray | None,
) -> Evaluation:
    rows, rocs = [row], [curve]
    for b in baselines:
        r, c = M.summarize(b.name, b.score(fs)[sel], y, w)
        rows.append(r)
        rocs.append(c)
    spec = KINDS[fs.kind]
    bkg = "+".join(spec.class_names[c] for c in spec.background_classes)
    return Evaluation(tuple(rows), tuple(rocs), spec.class_names[0], bkg, int(sel.sum()))


def _extra(model: TrainedModel, probs: np.ndarray, fs: FeatureSet) -> dict[str, float]:
    """c-jet rejection at 70 % b efficiency for flavour taggers."""
    if model.class_names[:2] != ("b", "c"):
        return {}
    return _c_rejection(model.discriminant(probs), fs)


def _c_rejection(scores: np.ndarray, fs: FeatureSet) -> dict[str, float]:
    """``{"c_rejection_0.7": ...}`` of per-object ``scores`` on the b (0) and c (1) objects of
    ``fs``; empty unless both occur."""
    sel = (fs.labels == 0) | (fs.labels == 1)
    if not (fs.labels[sel] == 1).any() or not (fs.labels[sel] == 0).any():
        return {}
    curve = M.roc(np.asarray(scores)[sel], fs.labels[sel] == 0)
    return {"c_rejection_0.7": M.rejection_at(curve, 0.7)}
