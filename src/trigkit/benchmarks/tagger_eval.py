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
# Pythia: the Xbb tagger's large-R jets get two more slices, for training and for testing, so
# that it trains and is measured on thousands of jets instead of a few hundred:
# - a QCD slice with pT-hat > 250 GeV (per hh4b event: 2x for training, 8x for testing), so
#   enough QCD large-R jets near the H->bb pT pass an Xbb cut to quote a rejection;
# - resonant X -> HH (m_X = 1 TeV, 2x the hh4b events): about 0.5 H->bb large-R jets per event,
#   median pT 373 GeV against 344 in hh4b, the boosted-H signal ATLAS and CMS train Xbb taggers on
XBB_PTHAT_MIN = 250.0
XBB_QCD_FACTOR = {"train": 2, "test": 8}
XBB_XHH_FACTOR = 2
XBB_M_X = 1000.0
ROLES = ("train", "test", "xbb_train", "xbb_test")


@dataclass(frozen=True)
class BenchSamples:
    """Every sample's role (one of ``ROLES``), spec, events and cache hit, in one order."""

    engine: str
    roles: tuple[str, ...]
    specs: tuple[SampleSpec, ...]
    batches: tuple[EventBatch, ...]
    cache_hits: tuple[bool, ...]

    def of(self, role: str, skip: tuple[str, ...] = ()) -> tuple[EventBatch, ...]:
        """The events of ``role``, without the processes in ``skip``."""
        rows = zip(self.roles, self.specs, self.batches, strict=True)
        return tuple(b for r, s, b in rows if r == role and s.process not in skip)

    @property
    def train(self) -> tuple[EventBatch, ...]:
        return self.of("train")

    @property
    def test(self) -> tuple[EventBatch, ...]:
        return self.of("test")

    @property
    def has_xbb_slices(self) -> bool:
        return "xbb_test" in self.roles

    def train_for(self, kind: str) -> tuple[EventBatch, ...]:
        """Training events of a feature kind: the Xbb (constituents) kind adds ``xbb_train``."""
        return self.train + (self.of("xbb_train") if kind == "constituents" else ())

    def test_for(self, kind: str) -> tuple[EventBatch, ...]:
        """Test events of a feature kind: the Xbb (constituents) kind adds ``xbb_test``."""
        return self.test + (self.of("xbb_test") if kind == "constituents" else ())

    def xbb_hh4b_test(self) -> tuple[EventBatch, ...]:
        """Xbb test events whose only H->bb signal is hh4b's: ``test`` and the QCD slice of
        ``xbb_test``, without its X -> HH events."""
        return self.test + self.of("xbb_test", skip=("xhh",))

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
                    "role": role,
                    **({"pthat_min": s.pthat_min} if s.process == "qcd" else {}),
                    **({"m_x": s.m_x} if s.process == "xhh" else {}),
                    **({"mu": s.mu, "pool_size": s.pool_size} if s.engine == "pythia" else {}),
                    "cache_hit": hit,
                }
                for role, s, hit in zip(self.roles, self.specs, self.cache_hits, strict=True)
            ],
        }


def sample_roles(
    engine: str, n_train: int, n_test: int, mu: float = 60.0, xbb: bool = True
) -> list[tuple[str, SampleSpec]]:
    """(role, spec) of every sample: hh4b, qcd and ttbar for training (seeds 1-3) and testing
    (seeds 101-103); with Pythia also the Xbb slices: QCD pT-hat > 250 GeV and X -> HH for
    training (seeds 4, 5) and testing (seeds 104, 105), unless ``xbb`` is false."""
    out = []
    for role, base, n in (("train", 1, n_train), ("test", 101, n_test)):
        for i, proc in enumerate(PROCESSES):
            size = max(1, int(n * TTBAR_FRACTION)) if proc == "ttbar" else n
            out.append((role, SampleSpec(proc, size, base + i, engine, mu)))
    if engine == "pythia" and xbb:
        for role, base, n in (("train", 4, n_train), ("test", 104, n_test)):
            n_qcd = XBB_QCD_FACTOR[role] * n
            qcd = SampleSpec("qcd", n_qcd, base, engine, mu, pthat_min=XBB_PTHAT_MIN)
            xhh = SampleSpec("xhh", XBB_XHH_FACTOR * n, base + 1, engine, mu, m_x=XBB_M_X)
            out += [(f"xbb_{role}", qcd), (f"xbb_{role}", xhh)]
    return out


def make_samples(
    engine: str,
    n_train: int,
    n_test: int,
    workers: int = 2,
    mu: float = 60.0,
    xbb: bool = True,
) -> BenchSamples:
    """Generate (Pythia: or read from its cache) every sample, with a progress bar."""
    import tempfile
    from pathlib import Path

    from trigkit.events.parquet_io import read_parquet
    from trigkit.events.sample_progress import generate_with_progress

    roles = sample_roles(engine, n_train, n_test, mu, xbb)
    specs = [s for _, s in roles]
    with tempfile.TemporaryDirectory(prefix="trigkit-bench-") as tmp:
        outs = [
            Path(tmp) / f"{s.process}-{s.seed}.parquet" if engine == "fast" else None for s in specs
        ]
        made = generate_with_progress(specs, outs, workers)
        batches = [read_parquet(m.path) for m in made]
    return BenchSamples(
        engine,
        tuple(r for r, _ in roles),
        tuple(specs),
        tuple(batches),
        tuple(m.cache_hit for m in made),
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
