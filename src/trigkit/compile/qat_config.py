"""QAT configuration (no torch import): widths of every quantized quantity of an MLP."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from trigkit.core.validated import Validated


class LayerQuant(Validated):
    """Pinned types for one dense layer (``ap_fixed<...>`` strings); unset ones are derived."""

    weight: str | None = None
    bias: str | None = None
    accum: str | None = None
    result: str | None = None
    activation: str | None = None
    reuse_factor: int = Field(default=1, ge=1)


class QATConfig(Validated):
    """Widths of every quantized quantity; integer bits from data unless pinned."""

    bits: int = Field(default=8, ge=2, le=32, description="width of weights, biases, activations")
    input_bits: int = Field(default=16, ge=2, le=32)
    logit_bits: int = Field(default=16, ge=2, le=32)
    accum_bits: int | None = Field(
        default=None, ge=2, le=48, description="None: wide enough to never round or overflow"
    )
    rounding: Literal["AP_TRN", "AP_RND", "AP_RND_CONV"] = "AP_RND"
    overflow: Literal["AP_WRAP", "AP_SAT"] = "AP_SAT"
    range_quantile: float = Field(default=1.0, gt=0.5, le=1.0)
    input_type: str | None = Field(
        default=None, description="pin the input type, e.g. ap_fixed<16,6>"
    )
    softmax: bool = False
    # 2048, not hls4ml's 1024: the softmax type rule (fixedpoint/softmax_types) widens the logit
    # type by an integer bit so x_max - x_i fits, which doubles the exp-table step; at 1024
    # near-equal classes then tie (top-class agreement -0.4..-1.2 points on an l1-mlp), at 2048
    # every measured metric beats the old types (2 x 2048 x 18 bits: ~2 BRAM18)
    softmax_table_size: int = 2048
    layers: dict[str, LayerQuant] = Field(default_factory=dict)

    def to_dict(self) -> dict:
        return self.model_dump(mode="json")
