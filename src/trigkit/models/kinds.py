"""The five feature kinds: what each one feeds a model (inputs, feature names, classes).

See :mod:`trigkit.models.features` for what every feature and class means.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["tracks", "constituents", "l1jets", "l1tracks", "nanojets"]

TRACK_FEATURES = ("d0_sig", "z0_sig", "log_pt_frac", "deta", "dphi", "d0")
CONSTITUENT_FEATURES = ("log_pt_frac", "deta", "dphi", "dr", "d0_sig", "charge")
L1_FEATURES = (
    "log_pt",
    "abs_eta",
    "mass_over_pt",
    "n_tracks",
    "track_pt_frac",
    "lead_track_pt_frac",
    "width",
    "d0sig_1",
    "d0sig_2",
    "d0sig_3",
    "max_d0",
    "n_d0sig_gt2",
    "n_d0sig_gt3",
    "sum_d0sig_pos",
    "mean_abs_z0",
    "max_abs_z0sig",
)
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
