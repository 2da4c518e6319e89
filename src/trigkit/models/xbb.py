"""Boosted H->bb taggers on large-R jet constituents (classes hbb / qcd).

Inputs: ``constituents`` [n, 40, 6] (kind ``constituents``) and ``mask``. ``xbb-pfn`` is a
Particle-Flow-Network-style DeepSets (sum pooling), ``xbb-attention`` a small set transformer.
"""

from __future__ import annotations

from trigkit.models.configs import AttentionConfig, DeepSetsConfig
from trigkit.models.kinds import KINDS

_C = KINDS["constituents"]
_BASE = {
    "n_features": len(_C.feature_names),
    "n_classes": len(_C.class_names),
    "max_objects": _C.default_max_objects,
}

PFN = DeepSetsConfig(**_BASE, phi=(64, 64, 64), rho=(64, 32), pooling="sum")
ATTENTION = AttentionConfig(
    **_BASE, dim=32, heads=4, layers=2, ff=64, head=(32, 16), pooling="attention"
)
