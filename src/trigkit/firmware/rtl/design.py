"""`RtlDesign`: a generated Verilog project and the facts needed to drive it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RtlDesign:
    """A generated Verilog project and the facts needed to drive it."""

    path: str
    top: str
    n_in: int
    n_out: int
    in_kif: tuple[int, int, int]  # (signed, integer, fraction) of the uniform I/O slots
    out_kif: tuple[int, int, int]
    stages: int
    covered: tuple[str, ...]  # layer names implemented in RTL
    excluded: tuple[str, ...]  # trailing layers not in RTL (softmax/sigmoid)
    input_frac: int
    output_frac: int  # fraction bits of the emulator's codes at the RTL output
    da4ml_lut_estimate: float
    reg_bits: int
    latency_cutoff: float
    delay_model: str = "da4ml"  # 'carry': latency_cutoff is ns of estimated logic per stage
    delay_constraint: int = -1  # da4ml hard_dc of the adder trees (-1: none; reports older than it)
    rebalance_step: int = (
        0  # >0: cut by op delays rescaled from the synthesised netlist (rtl_cutoff)
    )
    max_fanout: int = 0  # >0: input register bits read by more ops are replicated (rtl_replicate)
    replicated_ffs: int = 0  # flip-flops those copies added

    @property
    def in_bw(self) -> int:
        return sum(self.in_kif)

    @property
    def out_bw(self) -> int:
        return sum(self.out_kif)
