"""Track-based b-taggers (classes b / c / light): DIPS-like DeepSets and GN2-lite attention.

Inputs: ``tracks`` [n, 15, 6] (see :mod:`trigkit.models.features`, kind ``tracks``) and ``mask``.
Outputs: logits for (b, c, light); the b-tagging discriminant is
:func:`trigkit.models.metrics.discriminant_b`.
"""

from __future__ import annotations

from trigkit.models.configs import AttentionConfig, DeepSetsConfig
from trigkit.models.kinds import KINDS

_T = KINDS["tracks"]
_BASE = {
    "n_features": len(_T.feature_names),
    "n_classes": len(_T.class_names),
    "max_objects": _T.default_max_objects,
}

DEEPSETS = DeepSetsConfig(**_BASE, phi=(64, 64, 64), rho=(64, 32), pooling="sum")
GN2LITE = AttentionConfig(
    **_BASE, dim=64, heads=4, layers=3, ff=128, head=(64, 32), pooling="attention"
)
