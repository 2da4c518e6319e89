"""`FeatureSet`: raw (unscaled) features of tagged objects, and the checks made on them."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import awkward as ak
import numpy as np

from trigkit.core.errors import TrigkitError
from trigkit.events.batch import EventBatch
from trigkit.models.kinds import KINDS, Kind, KindSpec


@dataclass(frozen=True)
class FeatureSet:
    """Raw (unscaled) features of the tagged objects of one or more batches.

    ``inputs`` maps input name -> array: float32 features and, for sequence kinds, a bool
    ``mask``. ``event_index``/``object_index`` point each row back to ``batch.<objects>``
    (``jets``, ``fatjets``, or ``l1jets`` for the L1 tagger on events with L1 tracks);
    ``weights`` is the event weight; ``aux`` holds per-object float64 quantities baselines and
    plots use (pt, eta, msd, tau21, hadron_flavour ...).
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
    objects: str = "jets"  # the EventBatch collection the rows are objects of

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def spec(self) -> KindSpec:
        return KINDS[self.kind]

    def flat_index(self, batch: EventBatch, collection: str | None = None) -> np.ndarray:
        """Each row's index among the flattened (event-major) objects of ``batch.<collection>``
        (default :attr:`objects`; the rows of kind ``constituents`` are large-R jets although
        :attr:`objects` says jets, so pass ``fatjets`` for them)."""
        objs = batch.objects(collection or self.objects)
        off = np.zeros(len(batch) + 1, dtype=np.int64)
        np.cumsum(ak.to_numpy(ak.num(objs, axis=1)), out=off[1:])
        return off[self.event_index.astype(np.int64)] + self.object_index.astype(np.int64)

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
            if s.objects != first.objects:
                raise TrigkitError(
                    f"cannot combine {s.kind} features of {s.objects} ({s.source}) with those of "
                    f"{first.objects} ({first.source}): L1 tagger samples must all have L1 "
                    "tracks (Pythia engine) or none"
                )
            if s.kind != first.kind or s.feature_names != first.feature_names:
                raise TrigkitError(
                    f"cannot combine {s.kind} features from {s.source} "
                    f"with {first.kind} features from {first.source}"
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
                f"({int(per[worst])} in field '{fs.feature_names[worst]}'); "
                "fix or drop these objects"
            )
