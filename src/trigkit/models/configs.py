"""Architecture configs (validated pydantic models) and the one function that builds a module.

A config fully determines the module's shapes, so a saved model is rebuilt from its config and
then loaded with its weights. Unknown keys are rejected
(:class:`~trigkit.core.validated.Validated`), so a typo in an override never passes silently.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, TypeAdapter, model_validator
from torch import nn

from trigkit.core.validated import Validated, validate
from trigkit.models.layers import DeepSets, JetMLP, SetTransformer

Sizes = tuple[Annotated[int, Field(ge=1, le=4096)], ...]


class _Base(Validated):
    n_features: int = Field(ge=1)
    n_classes: int = Field(ge=2)
    max_objects: int = Field(
        0, ge=0, description="objects per jet for set models; 0 for per-jet inputs"
    )


class MLPConfig(_Base):
    architecture: Literal["mlp"] = "mlp"
    hidden: Sizes = (64, 32, 32)

    def build(self) -> nn.Module:
        return JetMLP(self.n_features, self.hidden, self.n_classes)


class DeepSetsConfig(_Base):
    architecture: Literal["deepsets"] = "deepsets"
    phi: Sizes = Field((64, 64, 64), min_length=1)
    rho: Sizes = (64, 32)
    pooling: Literal["sum", "mean"] = "sum"

    @model_validator(mode="after")
    def _needs_objects(self) -> DeepSetsConfig:
        if self.max_objects < 1:
            raise ValueError("DeepSets needs max_objects >= 1")
        return self

    def build(self) -> nn.Module:
        return DeepSets(self.n_features, self.phi, self.rho, self.n_classes, self.pooling)


class AttentionConfig(_Base):
    architecture: Literal["attention"] = "attention"
    dim: int = Field(64, ge=2, le=1024)
    heads: int = Field(4, ge=1, le=32)
    layers: int = Field(3, ge=1, le=12)
    ff: int = Field(128, ge=1, le=4096)
    head: Sizes = (64, 32)
    pooling: Literal["attention", "mean"] = "attention"

    @model_validator(mode="after")
    def _check(self) -> AttentionConfig:
        if self.max_objects < 1:
            raise ValueError("attention models need max_objects >= 1")
        if self.dim % self.heads:
            raise ValueError(f"dim {self.dim} must be divisible by heads {self.heads}")
        return self

    def build(self) -> nn.Module:
        return SetTransformer(
            self.n_features,
            self.dim,
            self.heads,
            self.layers,
            self.ff,
            self.head,
            self.n_classes,
            self.pooling,
        )


ModelConfig = Annotated[
    MLPConfig | DeepSetsConfig | AttentionConfig, Field(discriminator="architecture")
]
_ADAPTER: TypeAdapter[MLPConfig | DeepSetsConfig | AttentionConfig] = TypeAdapter(ModelConfig)


def parse_config(
    data: dict[str, object], where: str
) -> MLPConfig | DeepSetsConfig | AttentionConfig:
    """Validate a config dict (from a saved model or overrides); errors name ``where``."""
    return validate(_ADAPTER, data, f"{where}: invalid model config")


def with_overrides(
    cfg: MLPConfig | DeepSetsConfig | AttentionConfig, overrides: dict[str, object], where: str
) -> MLPConfig | DeepSetsConfig | AttentionConfig:
    return parse_config({**cfg.model_dump(), **overrides}, where)
