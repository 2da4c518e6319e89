"""Jet-level taggers: the L1 tagger sized for an FPGA, and the NanoAOD jet-level b-tagger.

``l1-mlp``: 16 L1-available jet features (kind ``l1jets``) -> 64 -> 32 -> 32 -> 5 classes
(b, c, uds, gluon, pileup), about 4.4k parameters. ``l1-deepsets``: a tiny DeepSets over at most
8 tracks (kind ``l1tracks``), same classes. ``btag-jetmlp``: 4 NanoAOD jet features (kind
``nanojets``) -> 32 -> 16 -> b / c / light.
"""

from __future__ import annotations

from trigkit.models.configs import DeepSetsConfig, MLPConfig
from trigkit.models.kinds import KINDS

_J, _T, _N = KINDS["l1jets"], KINDS["l1tracks"], KINDS["nanojets"]

L1_MLP = MLPConfig(
    n_features=len(_J.feature_names), n_classes=len(_J.class_names), hidden=(64, 32, 32)
)
L1_DEEPSETS = DeepSetsConfig(
    n_features=len(_T.feature_names),
    n_classes=len(_T.class_names),
    max_objects=_T.default_max_objects,
    phi=(16, 16),
    rho=(16,),
    pooling="sum",
)
JET_MLP = MLPConfig(
    n_features=len(_N.feature_names), n_classes=len(_N.class_names), hidden=(32, 16)
)
