"""Per-object feature extraction: `EventBatch` -> :class:`FeatureSet` (raw, unscaled features).

Four feature kinds, one per tagger family (a model name maps to its kind through
:mod:`trigkit.models.registry`):

``tracks`` (b-tagging, classes b / c / light from ``hadron_flavour`` 5 / 4 / 0; jets with
unknown flavour are skipped). Input ``tracks`` [n_jets, max_tracks, 6] and ``mask``
[n_jets, max_tracks] (bool, True = real track). Tracks keep the file's order (decreasing
|d0_sig|), so truncation keeps the most significant ones. Per track:
    d0_sig, z0_sig    lifetime-signed impact-parameter significances
    log_pt_frac       log(track pt / jet pt)
    deta, dphi        track minus jet axis
    d0                lifetime-signed transverse impact parameter (mm)

``constituents`` (Xbb, classes hbb / qcd: class 0 is fatjet ``label == 1``). Input
``constituents`` [n_fatjets, max_constituents, 6] and ``mask``. Per constituent:
log_pt_frac, deta, dphi, dr, d0_sig, charge.

``l1jets`` (L1 tagger, classes b / c / uds / gluon / pileup: pileup if ``is_pileup``, else b/c
from ``hadron_flavour``, else gluon if ``parton_flavour == 21``, else uds). Input ``jets``
[n_jets, 16] of quantities an L1 correlator has per jet (see :data:`L1_FEATURES`).

``l1tracks`` (tiny L1 DeepSets): the ``tracks`` inputs (at most 8 tracks) with the ``l1jets``
classes.

``nanojets`` (jet-level b-tagger on NanoAOD-like jets, classes b / c / light). Input ``jets``
[n_jets, 4]: log_pt, abs_eta, mass_over_pt and the jet's stored b-tag score
(``btag_deepflav``, or ``btag`` when that is what the reader provides).

Class 0 is always the signal class (b, H->bb); ``KindSpec.background_classes`` are the classes
whose rejection is quoted (light jets; uds + gluon for the L1 tagger; QCD for Xbb).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

import awkward as ak
import numpy as np

from trigkit.core.errors import TrigkitError
from trigkit.events.batch import EventBatch

Kind = Literal["tracks", "constituents", "l1jets", "l1tracks", "nanojets"]

TRACK_FEATURES = ("d0_sig", "z0_sig", "log_pt_frac", "deta", "dphi", "d0")
CONSTITUENT_FEATURES = ("log_pt_frac", "deta", "dphi", "dr", "d0_sig", "charge")
L1_FEATURES = (
    "log_pt", "abs_eta", "mass_over_pt", "n_tracks", "track_pt_frac", "lead_track_pt_frac",
    "width", "d0sig_1", "d0sig_2", "d0sig_3", "max_d0", "n_d0sig_gt2", "n_d0sig_gt3",
    "sum_d0sig_pos", "mean_abs_z0", "max_abs_z0sig",
)  # fmt: skip
L1_CLASSES = ("b", "c", "uds", "gluon", "pileup")
NANO_SCORE_FIELDS = ("btag_deepflav", "btag")
NANO_FEATURES = ("log_pt", "abs_eta", "mass_over_pt", "btag_score")


@dataclass(frozen=True)
class KindSpec:
    """What one feature kind feeds a model: input names, feature names, classes."""

    kind: Kind
    input_names: tuple[str, ...]
    feature_names: tuple[str, ...]
    class_names: tuple[str, ...]
    background_classes: tuple[int, ...]  # classes counted as background in rejection metrics
    default_max_objects: int = 0  # 0 for per-jet (non-sequence) kinds
    asinh_features: tuple[str, ...] = ()  # heavy-tailed features compressed by asinh before scaling

    @property
    def is_sequence(self) -> bool:
        return self.default_max_objects > 0


KINDS: dict[str, KindSpec] = {
    "tracks": KindSpec(
        "tracks",
        ("tracks", "mask"),
        TRACK_FEATURES,
        ("b", "c", "light"),
        (2,),
        15,
        ("d0_sig", "z0_sig"),
    ),
    "constituents": KindSpec(
        "constituents",
        ("constituents", "mask"),
        CONSTITUENT_FEATURES,
        ("hbb", "qcd"),
        (1,),
        40,
        ("d0_sig",),
    ),
    "l1jets": KindSpec("l1jets", ("jets",), L1_FEATURES, L1_CLASSES, (2, 3)),
    "l1tracks": KindSpec("l1tracks", ("tracks", "mask"), TRACK_FEATURES, L1_CLASSES, (2, 3), 8),
    "nanojets": KindSpec("nanojets", ("jets",), NANO_FEATURES, ("b", "c", "light"), (2,)),
}


@dataclass(frozen=True)
class FeatureSet:
    """Raw (unscaled) features of the tagged objects of one or more batches.

    ``inputs`` maps input name -> array: float32 features and, for sequence kinds, a bool
    ``mask``. ``event_index``/``object_index`` point each row back to ``batch.jets`` (or
    ``batch.fatjets``); ``weights`` is the event weight; ``aux`` holds per-object float64
    quantities baselines and plots use (pt, eta, msd, tau21, hadron_flavour ...).
    """

    kind: Kind
    inputs: dict[str, np.ndarray]
    feature_names: tuple[str, ...]
    labels: np.ndarray
    class_names: tuple[str, ...]
    event_index: np.ndarray
    object_index: np.ndarray
    weights: np.ndarray
    aux: dict[str, np.ndarray] = field(default_factory=dict)
    source: str = ""

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def spec(self) -> KindSpec:
        return KINDS[self.kind]

    def select(self, sel: np.ndarray | slice) -> FeatureSet:
        """Rows ``sel`` (index array, bool mask or slice)."""
        return replace(
            self,
            inputs={k: v[sel] for k, v in self.inputs.items()},
            labels=self.labels[sel],
            event_index=self.event_index[sel],
            object_index=self.object_index[sel],
            weights=self.weights[sel],
            aux={k: v[sel] for k, v in self.aux.items()},
        )

    @staticmethod
    def concatenate(sets: list[FeatureSet]) -> FeatureSet:
        if not sets:
            raise TrigkitError("no feature sets to concatenate (no events given)")
        first = sets[0]
        for s in sets[1:]:
            if s.kind != first.kind or s.feature_names != first.feature_names:
                raise TrigkitError(
                    f"cannot combine {s.kind} features from {s.source} with {first.kind} features from {first.source}"
                )
            shapes = {k: v.shape[1:] for k, v in s.inputs.items()}
            if shapes != {k: v.shape[1:] for k, v in first.inputs.items()}:
                raise TrigkitError(
                    f"feature shapes of {s.source} ({shapes}) differ from {first.source}"
                )
        cat = lambda arrs: np.concatenate(arrs, axis=0)  # noqa: E731
        return replace(
            first,
            inputs={k: cat([s.inputs[k] for s in sets]) for k in first.inputs},
            labels=cat([s.labels for s in sets]),
            event_index=cat([s.event_index for s in sets]),
            object_index=cat([s.object_index for s in sets]),
            weights=cat([s.weights for s in sets]),
            aux={
                k: cat([s.aux[k] for s in sets]) for k in first.aux if all(k in s.aux for s in sets)
            },
            source=", ".join(dict.fromkeys(s.source for s in sets)),
        )


def kind_of(name: str) -> KindSpec:
    """Feature kind of a kind name or a registered model name."""
    if name in KINDS:
        return KINDS[name]
    from trigkit.models.registry import get_spec

    return KINDS[get_spec(name).kind]


def extract(name: str, batch: EventBatch, *, max_objects: int | None = None) -> FeatureSet:
    """Features for model ``name`` (or feature kind) from ``batch``."""
    spec = kind_of(name)
    n_max = max_objects if max_objects is not None else spec.default_max_objects
    if spec.is_sequence and n_max < 1:
        raise TrigkitError(f"max_objects must be >= 1 for {spec.kind} features, got {n_max}")
    from trigkit.models import _extractors

    fs = _extractors.EXTRACTORS[spec.kind](batch, spec, n_max)
    check_finite(fs)
    return fs


def require_fields(
    arr: ak.Array | None, fields: tuple[str, ...], where: str, batch: EventBatch
) -> None:
    """Raise naming the first missing field of ``arr`` (a jagged record array)."""
    present = set(arr.fields) if arr is not None else set()
    for f in fields:
        if f not in present:
            raise TrigkitError(
                f"{batch.source or batch.process}: events have no field '{where}{f}' "
                f"needed for tagger features (present: {', '.join(sorted(present)) or 'none'})"
            )


def check_finite(fs: FeatureSet) -> None:
    """Raise if any real (unmasked) feature value is NaN or infinite."""
    mask = fs.inputs.get("mask")
    for key, arr in fs.inputs.items():
        if key == "mask":
            continue
        bad = ~np.isfinite(arr)
        if mask is not None:
            bad &= mask[..., None]
        if bad.any():
            per = bad.reshape(-1, arr.shape[-1]).sum(axis=0)
            worst = int(np.argmax(per))
            raise TrigkitError(
                f"{fs.source}: {int(per.sum())} NaN/Inf feature values in '{key}' "
                f"({int(per[worst])} in field '{fs.feature_names[worst]}'); fix or drop these objects"
            )
