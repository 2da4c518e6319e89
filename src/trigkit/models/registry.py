"""Model names -> (feature kind, default architecture config).

``get_spec(name)`` raises :class:`~trigkit.core.errors.TrigkitError` listing the valid names.
"""

from __future__ import annotations

from dataclasses import dataclass

from trigkit.core.errors import TrigkitError
from trigkit.models import btag, l1, xbb
from trigkit.models.configs import AttentionConfig, DeepSetsConfig, MLPConfig


@dataclass(frozen=True)
class ModelSpec:
    name: str
    kind: str
    config: MLPConfig | DeepSetsConfig | AttentionConfig
    summary: str


_SPECS: dict[str, ModelSpec] = {
    s.name: s
    for s in (
        ModelSpec(
            "btag-deepsets", "tracks", btag.DEEPSETS, "DIPS-like DeepSets b-tagger over tracks"
        ),
        ModelSpec(
            "btag-gn2lite", "tracks", btag.GN2LITE, "GN2-lite transformer b-tagger over tracks"
        ),
        ModelSpec("xbb-pfn", "constituents", xbb.PFN, "Particle-Flow-Network H->bb tagger"),
        ModelSpec("xbb-attention", "constituents", xbb.ATTENTION, "attention H->bb tagger"),
        ModelSpec(
            "l1-mlp", "l1jets", l1.L1_MLP, "L1 jet tagger MLP on 16 jet features (FPGA-sized)"
        ),
        ModelSpec("l1-deepsets", "l1tracks", l1.L1_DEEPSETS, "tiny L1 DeepSets over 8 tracks"),
        ModelSpec(
            "btag-jetmlp", "nanojets", l1.JET_MLP, "jet-level b-tagger MLP on NanoAOD jet features"
        ),
    )
}


def names() -> list[str]:
    return list(_SPECS)


def get_spec(name: str) -> ModelSpec:
    try:
        return _SPECS[name]
    except KeyError:
        raise TrigkitError(f"unknown model '{name}'; valid: {', '.join(_SPECS)}") from None
