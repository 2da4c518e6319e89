"""Tagger benchmark pieces: the train/test samples (Pythia by default) and rejections with
68 % intervals for a trained tagger and its baselines on independent test jets.

Background weights: jets count once (``per_jet``) except for Xbb, whose background (QCD and
top large-R jets) is pT-reweighted to the H->bb signal (``pt_signal``), so the tagger is not
credited for learning the pT difference. Pythia's event weights (pT-hat bias) are used for
rates, not here: they describe how often an event occurs, not how a jet looks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from trigkit.events.batch import EventBatch
from trigkit.events.samples import SampleSpec, engine_label
from trigkit.models import metrics as M
from trigkit.models.feature_set import FeatureSet
from trigkit.models.kinds import KINDS
from trigkit.models.rejection import pt_reweight, rejection_at_eff
from trigkit.models.saved import TrainedModel

PROCESSES = ("hh4b", "qcd", "ttbar")
TTBAR_FRACTION = 0.25  # ttbar events per hh4b / qcd event: top jets and b jets from tops
# Pythia: a QCD slice with pT-hat > 250 GeV added to the test events (4x the qcd test events),
# so enough QCD large-R jets near the H->bb pT pass an Xbb cut to quote a rejection
XBB_PTHAT_MIN = 250.0
XBB_QCD_FACTOR = 4


@dataclass(frozen=True)
class BenchSamples:
    """Training and test events (independent seeds) and how they were made."""

    engine: str
    train: tuple[EventBatch, ...]
    test: tuple[EventBatch, ...]
    specs: tuple[SampleSpec, ...]
    cache_hits: tuple[bool, ...]
    xbb_extra: tuple[EventBatch, ...] = ()  # more QCD for the Xbb test (high pT-hat slice)

    def test_for(self, kind: str) -> tuple[EventBatch, ...]:
        """Test events of a feature kind: the Xbb (constituents) test adds ``xbb_extra``."""
        return self.test + self.xbb_extra if kind == "constituents" else self.test

    @property
    def label(self) -> str:
        return engine_label(self.engine)

    def describe(self) -> dict[str, object]:
        return {
            "engine": self.engine,
            "label": self.label,
            "samples": [
                {
                    "process": s.process,
                    "events": s.n_events,
                    "seed": s.seed,
                    **({"pthat_min": s.pthat_min} if s.process == "qcd" else {}),
                    **({"mu": s.mu, "pool_size": s.pool_size} if s.engine == "pythia" else {}),
                    "cache_hit": hit,
                }
                for s, hit in zip(self.specs, self.cache_hits, strict=True)
            ],
        }


def sample_specs(engine: str, n_train: int, n_test: int, mu: float = 60.0) -> list[SampleSpec]:
    """hh4b, qcd and ttbar for training (seeds 1-3) and testing (seeds 101-103; Pythia: and a
    high pT-hat QCD slice, seed 104, whose large-R jets the Xbb evaluation adds)."""
    specs = []
    for base, n in ((1, n_train), (101, n_test)):
        for i, proc in enumerate(PROCESSES):
            size = max(1, int(n * TTBAR_FRACTION)) if proc == "ttbar" else n
            specs.append(SampleSpec(proc, size, base + i, engine, mu))
    if engine == "pythia":
        n_hi = XBB_QCD_FACTOR * n_test
        specs.append(SampleSpec("qcd", n_hi, 104, engine, mu, pthat_min=XBB_PTHAT_MIN))
    return specs


def make_samples(
    engine: str, n_train: int, n_test: int, workers: int = 2, mu: float = 60.0
) -> BenchSamples:
    """Generate (Pythia: or read from its cache) the six samples, with a progress bar."""
    import tempfile
    from pathlib import Path

    from trigkit.events.parquet_io import read_parquet
    from trigkit.events.sample_progress import generate_with_progress

    specs = sample_specs(engine, n_train, n_test, mu)
    with tempfile.TemporaryDirectory(prefix="trigkit-bench-") as tmp:
        outs = [
            Path(tmp) / f"{s.process}-{s.seed}.parquet" if engine == "fast" else None for s in specs
        ]
        made = generate_with_progress(specs, outs, workers)
        batches = [read_parquet(m.path) for m in made]
    k = len(PROCESSES)
    return BenchSamples(
        engine,
        tuple(batches[:k]),
        tuple(batches[k : 2 * k]),
        tuple(specs),
        tuple(m.cache_hit for m in made),
        tuple(batches[2 * k :]),
    )


def background_weights(fs: FeatureSet, sel_sig: np.ndarray, sel_bkg: np.ndarray) -> np.ndarray:
    """Per-jet 1 for jet taggers; the signal pT shape for large-R (constituents) jets."""
    if fs.kind != "constituents":
        return np.ones(int(sel_bkg.sum()))
    return pt_reweight(fs.aux["pt"][sel_bkg], fs.aux["pt"][sel_sig])


def _row(
    name: str,
    score: np.ndarray,
    sig: np.ndarray,
    bkg: np.ndarray,
    wb: np.ndarray,
    effs: Sequence[float],
) -> dict[str, object]:
    y = np.concatenate([np.ones(sig.sum(), bool), np.zeros(bkg.sum(), bool)])
    s = np.concatenate([score[sig], score[bkg]])
    w = np.concatenate([np.ones(sig.sum()), wb])
    return {
        "name": name,
        "auc": M.auc(M.roc(s, y, w)),
        "rejection": {
            f"{e:g}": rejection_at_eff(score[sig], score[bkg], e, bkg_weights=wb).as_dict()
            for e in effs
        },
    }


def evaluate_tagger(
    model: TrainedModel, fs: FeatureSet, effs: Sequence[float]
) -> dict[str, object]:
    """Rows (model first, then its stored baselines) of AUC and rejection with intervals."""
    spec = KINDS[fs.kind]
    sig = fs.labels == 0
    bkg = np.isin(fs.labels, spec.background_classes)
    wb = background_weights(fs, sig, bkg)
    score = model.discriminant(model.predict(fs))
    rows = [_row(model.name, score, sig, bkg, wb, effs)]
    rows += [_row(b.name, b.score(fs), sig, bkg, wb, effs) for b in model.baselines]
    out: dict[str, object] = {
        "signal": spec.class_names[0],
        "background": "+".join(spec.class_names[c] for c in spec.background_classes),
        "background_weights": "pT-reweighted to signal" if fs.kind == "constituents" else "none",
        "n_signal": int(sig.sum()),
        "n_background": int(bkg.sum()),
        "rows": rows,
    }
    if spec.class_names[:2] == ("b", "c"):
        is_c = fs.labels == 1
        out["c_rejection"] = {
            r_name: rejection_at_eff(s[sig], s[is_c], 0.7).as_dict()
            for r_name, s in [(model.name, score)]
            + [(b.name, b.score(fs)) for b in model.baselines]
        }
    return out
