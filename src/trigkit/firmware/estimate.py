"""Analytic latency/resource ESTIMATE for an hls4ml io_parallel network - no vendor tool.

Everything here is an estimate from a small, documented cost model; every number it produces
is labelled ``"estimate"`` where it is shown. It exists so a trigger developer can see, before
any synthesis, roughly how many cycles and LUT/FF/DSP a configuration costs and how pruning, bit
widths and reuse factors move them. Measured numbers come from the RTL path (``rtl.py``) or
from vendor reports (``vendor_reports.py``).

Cost model (per dense layer, hls4ml ``Latency`` strategy, ``io_parallel``):

- Multiplications: one per **non-zero** weight (pruned weights are removed by HLS constant
  propagation and cost nothing). With reuse factor ``R`` the layer instantiates
  ``ceil(nnz / R)`` multipliers, each used ``R`` times; initiation interval ``II = R``.
- Multiplier mapping: under the Latency strategy with ``R = 1`` the weights are constants and a
  product with a ``wa <= LUT_MULT_MAX_BITS`` (10) bit weight goes to LUTs; with ``R > 1`` (weights
  multiplexed) only products with ``max(wa, wb) <= 10`` do. Others go to DSP48E2 slices, each
  covering a 27x18 product (``ceil(a/27) * ceil(b/18)`` slices for a wider one). The
  ``Resource`` strategy maps every multiplier to DSPs.
- LUTs of LUT multipliers: a constant weight with ``k`` non-zero canonical-signed-digit (CSD)
  digits is ``k - 1`` shift-adds of ``wa + wb`` bits (a power of two is free wiring); when the
  CSD count is unknown or weights are multiplexed, ``LUT_PER_MULT_BIT2 * wa * wb`` each.
- LUTs of the accumulation: one adder per product (the bias initialises the accumulator), one
  LUT per bit (carry chain), of ``min(accum_bits, wa + wb + ceil(log2(k_max + 1)))`` bits (HLS
  trims accumulator bits that can never toggle).
- FFs: registers after the multipliers (``wa + wb`` bits each) and on the layer output
  (``n_out * result_bits``); with ``R > 1`` the accumulators (``n_out * accum_bits``) too.
- Latency: multiplier stage ``MULT_CYCLES_LUT`` / ``MULT_CYCLES_DSP`` cycles, then an adder
  tree of depth ``ceil(log2(k_max + 1))`` (``k_max`` = most non-zero inputs of any output, +1
  for the bias) at ``adder_levels_per_cycle`` levels per clock (``clock_ns // ADDER_LEVEL_NS``),
  plus ``R - 1`` cycles of serial reuse, plus one output register cycle.
- Set layers: a per-constituent dense (``pointwise``, hls4ml's PointwiseConv1D, io_parallel) is
  the dense layer instantiated once per constituent: every multiplier, adder, LUT, FF and DSP
  times ``n_const`` (``copies``), with the latency of one copy. A mean pool is, per feature, an
  adder tree over the ``n_const`` inputs (``n_const - 1`` adders of ``accum`` bits, depth
  ``ceil(log2 n_const)``) and a division by the constant ``n_const`` (free wiring for a power
  of two, else one constant multiplier per feature), plus an output register cycle. A conv1d
  is the same with one copy per output position (``out_width``) over its ``filt_width x
  n_chan`` window (products with a zero pad are counted too: an upper bound).
- LeakyReLU: a constant multiply (``alpha``) and a select per output, 1 cycle; ReLU6 two
  comparisons and a select (two LUTs per output bit), 1 cycle.
- Activations: ReLU costs one LUT per output bit and 1 cycle; sigmoid/tanh a table lookup
  (1 cycle, table in LUTs/BRAM); softmax an exp table, an adder tree over the outputs, an
  inverse table and a multiply per output (``SOFTMAX_BASE_CYCLES`` + tree depth).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from trigkit.core.errors import TrigkitError
from trigkit.fixedpoint.set_layers import out_positions

if TYPE_CHECKING:
    from trigkit.fixedpoint.network import FirmwareNetwork

LABEL = "estimate"
LUT_MULT_MAX_BITS = 10
LUT_PER_MULT_BIT2 = 0.6
DSP_A_BITS, DSP_B_BITS = 27, 18
MULT_CYCLES_LUT = 1
MULT_CYCLES_DSP = 2
ADDER_LEVEL_NS = 1.6
SOFTMAX_BASE_CYCLES = 4
BRAM18_BITS = 18 * 1024

Strategy = Literal["latency", "resource"]


@dataclass(frozen=True)
class DenseCost:
    """The facts of one dense layer that the cost model needs."""

    name: str
    n_in: int
    n_out: int
    nonzero: int
    max_fan_in: int  # most non-zero weights feeding one output
    weight_bits: int
    input_bits: int
    accum_bits: int
    result_bits: int
    reuse_factor: int = 1
    strategy: Strategy = "latency"
    csd_terms: int | None = None  # total non-zero CSD digits over the non-zero weights
    copies: int = 1  # constituents a per-constituent dense runs on, each with its own hardware
    kind: str = "dense"  # dense, pointwise (per constituent) or conv1d (per output position)

    def __post_init__(self) -> None:
        if self.copies < 1:
            raise TrigkitError(f"layer '{self.name}': copies must be >= 1, got {self.copies}")
        if self.n_in < 1 or self.n_out < 1:
            raise TrigkitError(f"layer '{self.name}': n_in/n_out must be >= 1")
        if not 0 <= self.nonzero <= self.n_in * self.n_out:
            raise TrigkitError(f"layer '{self.name}': nonzero={self.nonzero} outside 0..n_in*n_out")
        if self.reuse_factor < 1:
            raise TrigkitError(
                f"layer '{self.name}': reuse_factor must be >= 1, got {self.reuse_factor}"
            )


@dataclass(frozen=True)
class ActivationCost:
    """An activation or pooling layer: ``kind`` in relu/linear/sigmoid/tanh/softmax/leaky_relu/
    relu6/mean_pool (``n``: outputs; ``group``: constituents a mean pool sums over)."""

    name: str
    kind: str
    n: int
    in_bits: int
    out_bits: int
    table_size: int = 1024
    group: int = 1
    accum_bits: int = 0


@dataclass(frozen=True)
class LayerEstimate:
    name: str
    kind: str
    multiplications: int = 0
    lut_multipliers: int = 0
    dsp_multipliers: int = 0
    adder_depth: int = 0
    latency_cycles: int = 0
    ii: int = 1
    lut: int = 0
    ff: int = 0
    dsp: int = 0
    bram_18k: int = 0


@dataclass(frozen=True)
class NetworkEstimate:
    """Per-layer estimates and their totals; ``source`` is always ``"estimate"``."""

    layers: tuple[LayerEstimate, ...]
    clock_period_ns: float
    source: str = LABEL

    @property
    def latency_cycles(self) -> int:
        return sum(layer.latency_cycles for layer in self.layers)

    @property
    def latency_ns(self) -> float:
        return self.latency_cycles * self.clock_period_ns

    @property
    def ii(self) -> int:
        return max((layer.ii for layer in self.layers), default=1)

    def total(self, field: str) -> int:
        return sum(getattr(layer, field) for layer in self.layers)


def adder_levels_per_cycle(clock_period_ns: float) -> int:
    return max(1, int(clock_period_ns // ADDER_LEVEL_NS))


def dsps_per_product(wa: int, wb: int) -> int:
    a, b = max(wa, wb), min(wa, wb)
    return math.ceil(a / DSP_A_BITS) * math.ceil(b / DSP_B_BITS)


def csd_digits(code: int) -> int:
    """Non-zero digits of the canonical signed-digit form of an integer (e.g. 7 = 8 - 1: 2)."""
    n, count = abs(int(code)), 0
    while n:
        if n & 1:
            count += 1
            n = n + 1 if (n & 3) == 3 else n - 1
        n >>= 1
    return count


def _lut_multiplier_cost(layer: DenseCost, hw_mults: int) -> int:
    wa, wb = layer.weight_bits, layer.input_bits
    if layer.reuse_factor == 1 and layer.csd_terms is not None:
        return (layer.csd_terms - layer.nonzero) * (wa + wb)  # constant shift-add multipliers
    return math.ceil(hw_mults * LUT_PER_MULT_BIT2 * wa * wb)


def estimate_dense(layer: DenseCost, clock_period_ns: float) -> LayerEstimate:
    """Estimate one dense layer (see the module docstring for the model); a per-constituent
    layer's hardware counts ``copies`` times."""
    one = _estimate_one_dense(layer, clock_period_ns)
    k = layer.copies
    if k == 1:
        return one
    return LayerEstimate(
        name=one.name,
        kind=layer.kind,
        multiplications=one.multiplications * k,
        lut_multipliers=one.lut_multipliers * k,
        dsp_multipliers=one.dsp_multipliers * k,
        adder_depth=one.adder_depth,
        latency_cycles=one.latency_cycles,
        ii=one.ii,
        lut=one.lut * k,
        ff=one.ff * k,
        dsp=one.dsp * k,
    )


def _estimate_one_dense(layer: DenseCost, clock_period_ns: float) -> LayerEstimate:
    rf = layer.reuse_factor
    hw_mults = math.ceil(layer.nonzero / rf)
    wa, wb = layer.weight_bits, layer.input_bits
    narrow = wa <= LUT_MULT_MAX_BITS if rf == 1 else max(wa, wb) <= LUT_MULT_MAX_BITS
    to_lut = layer.strategy == "latency" and narrow
    lut_m, dsp_m = (hw_mults, 0) if to_lut else (0, hw_mults)
    depth = math.ceil(math.log2(layer.max_fan_in + 1)) if layer.max_fan_in > 0 else 0
    tree_cycles = math.ceil(depth / adder_levels_per_cycle(clock_period_ns))
    mult_cycles = 0 if hw_mults == 0 else (MULT_CYCLES_LUT if to_lut else MULT_CYCLES_DSP)
    latency = mult_cycles + tree_cycles + (rf - 1) + 1
    adder_bits = min(layer.accum_bits, wa + wb + depth)
    lut = (_lut_multiplier_cost(layer, hw_mults) if to_lut else 0) + hw_mults * adder_bits
    ff = hw_mults * (wa + wb) + layer.n_out * layer.result_bits
    if rf > 1:
        ff += layer.n_out * layer.accum_bits
    return LayerEstimate(
        name=layer.name,
        kind="dense",
        multiplications=layer.nonzero,
        lut_multipliers=lut_m,
        dsp_multipliers=dsp_m,
        adder_depth=depth,
        latency_cycles=latency,
        ii=rf,
        lut=lut,
        ff=ff,
        dsp=dsp_m * dsps_per_product(wa, wb),
    )


def _table_cost(entries: int, width: int) -> tuple[int, int]:
    """(LUT, BRAM_18K) of a ROM table: small tables in LUTs (64 entries per LUT6 bit), big in
    BRAM."""
    bits = entries * width
    if entries <= 1024 and bits <= 4096:
        return math.ceil(entries / 64) * width, 0
    return 0, math.ceil(bits / BRAM18_BITS)


def estimate_activation(act: ActivationCost, clock_period_ns: float) -> LayerEstimate:
    kind = act.kind.lower()
    if kind == "linear":
        return LayerEstimate(act.name, kind)
    if kind == "relu":
        return LayerEstimate(
            act.name, kind, latency_cycles=1, lut=act.n * act.out_bits, ff=act.n * act.out_bits
        )
    if kind in ("leaky_relu", "relu6"):
        lut = act.n * act.out_bits * 2
        mults = act.n if kind == "leaky_relu" else 0
        return LayerEstimate(
            act.name,
            kind,
            multiplications=mults,
            lut_multipliers=mults,
            latency_cycles=1,
            lut=lut,
            ff=act.n * act.out_bits,
        )
    if kind == "mean_pool":
        return _estimate_mean_pool(act, clock_period_ns)
    if kind in ("sigmoid", "tanh"):
        lut, bram = _table_cost(act.table_size, act.out_bits)
        return LayerEstimate(
            act.name,
            kind,
            latency_cycles=1,
            lut=lut + act.n,
            ff=act.n * act.out_bits,
            bram_18k=bram,
        )
    if kind == "softmax":
        lut_e, bram_e = _table_cost(act.table_size, act.out_bits)
        depth = math.ceil(math.log2(max(act.n, 2)))
        cycles = SOFTMAX_BASE_CYCLES + math.ceil(depth / adder_levels_per_cycle(clock_period_ns))
        mult_lut = math.ceil(act.n * LUT_PER_MULT_BIT2 * act.out_bits * act.out_bits)
        return LayerEstimate(
            act.name,
            kind,
            multiplications=act.n,
            lut_multipliers=act.n,
            adder_depth=depth,
            latency_cycles=cycles,
            lut=2 * lut_e + mult_lut + act.n * act.out_bits,
            ff=3 * act.n * act.out_bits,
            bram_18k=2 * bram_e,
        )
    raise TrigkitError(
        f"layer '{act.name}': no estimate for activation '{act.kind}'; "
        "valid: linear, relu, leaky_relu, relu6, sigmoid, tanh, softmax, mean_pool"
    )


def _estimate_mean_pool(act: ActivationCost, clock_period_ns: float) -> LayerEstimate:
    g = act.group
    depth = math.ceil(math.log2(g)) if g > 1 else 0
    pow2 = g & (g - 1) == 0
    mults = 0 if pow2 else act.n
    bits = act.accum_bits or act.in_bits + depth
    lut = act.n * (g - 1) * bits + mults * math.ceil(LUT_PER_MULT_BIT2 * bits * bits)
    cycles = math.ceil(depth / adder_levels_per_cycle(clock_period_ns)) + (0 if pow2 else 1) + 1
    return LayerEstimate(
        act.name,
        "mean_pool",
        multiplications=mults,
        lut_multipliers=mults,
        adder_depth=depth,
        latency_cycles=cycles,
        lut=lut,
        ff=act.n * act.out_bits,
    )


def estimate_layers(
    layers: Sequence[DenseCost | ActivationCost], clock_period_ns: float
) -> NetworkEstimate:
    """Estimate a network given as an ordered list of layer costs."""
    if clock_period_ns <= 0:
        raise TrigkitError(f"clock period must be > 0 ns, got {clock_period_ns}")
    out = tuple(
        estimate_dense(layer, clock_period_ns)
        if isinstance(layer, DenseCost)
        else estimate_activation(layer, clock_period_ns)
        for layer in layers
    )
    return NetworkEstimate(out, clock_period_ns)


def layer_costs(network: FirmwareNetwork) -> list[DenseCost | ActivationCost]:
    """Translate a :class:`~trigkit.fixedpoint.network.FirmwareNetwork` into cost-model inputs."""
    costs: list[DenseCost | ActivationCost] = []
    for index, layer in enumerate(network.layers):
        in_t = network.input_type_of(index)
        if layer.kind in ("dense", "pointwise", "conv1d"):
            assert (
                layer.weight is not None
                and layer.weight_t is not None
                and layer.accum_t is not None
            )
            strategy = (layer.strategy or network.strategy).lower()
            fan_in = np.count_nonzero(layer.weight, axis=1)
            costs.append(
                DenseCost(
                    name=layer.name,
                    n_in=layer.weight.shape[1],
                    n_out=layer.weight.shape[0],
                    nonzero=layer.n_mult,
                    max_fan_in=int(fan_in.max()) if fan_in.size else 0,
                    weight_bits=layer.weight_t.width,
                    input_bits=in_t.width,
                    accum_bits=layer.accum_t.width,
                    result_bits=layer.result_t.width,
                    reuse_factor=layer.reuse_factor,
                    strategy=strategy,  # type: ignore[arg-type]
                    csd_terms=sum(csd_digits(c) for c in layer.weight_codes().ravel() if c),
                    copies=out_positions(layer),
                    kind=layer.kind,
                )
            )
        else:
            size = 1024
            if layer.softmax is not None:
                size = max(layer.softmax.table_sizes(in_t))
            elif layer.sigmoid is not None:
                size = layer.sigmoid.table_size
            acc = layer.accum_t.width if layer.accum_t is not None else 0
            costs.append(
                ActivationCost(
                    layer.name,
                    layer.kind,
                    layer.n_out,
                    in_t.width,
                    layer.result_t.width,
                    size,
                    group=layer.n_const if layer.kind == "mean_pool" else 1,
                    accum_bits=acc,
                )
            )
    return costs


def estimate_network(network: FirmwareNetwork) -> NetworkEstimate:
    """The analytic estimate of a whole firmware network at its clock period."""
    return estimate_layers(layer_costs(network), network.clock_period_ns)
