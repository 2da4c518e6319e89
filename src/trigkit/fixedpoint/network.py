"""The firmware network: one object describing exactly what runs on the FPGA.

A :class:`FirmwareNetwork` is the hand-over between QAT (``trigkit.compile.qat``), the bit-exact
emulator (``trigkit.firmware.emulate``), the hls4ml adapter (``trigkit.firmware.hls4ml``), latency /
resource estimates and RTL. Every precision is explicit; weights are float64 values lying exactly
on their :class:`FixedType` grid (``weight_codes`` gives the integer codes).

Layer semantics follow hls4ml's io_parallel templates (``nnet_dense_latency.h``,
``nnet_activation.h``):

- ``dense``: ``acc = accum_t(bias)``; for each input ``i`` in order ``acc += accum_t(x_i * w_i)``
  (the product is exact, each addition is cast to ``accum_t``); ``y = result_t(acc)``.
- ``relu``: ``y = result_t(x > 0 ? x : 0)``; ``linear``: ``y = result_t(x)``.
- ``softmax``: the lookup-table implementation configured in :class:`SoftmaxSpec`.
- ``sigmoid``: hls4ml's table over [-8, 8) with ``table_size`` entries of ``table_t``.

Set (DeepSets) layers and the other activations are described in
:mod:`trigkit.fixedpoint.set_layers` (``pointwise``, ``mean_pool``, ``leaky_relu``, ``relu6``).
A layer on a set tensor has ``n_const`` > 1: its ``n_in`` / ``n_out`` count every element of
the ``[n_const, n_features]`` tensor, stored constituent-major (hls4ml's channels-last order).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Literal, get_args

import numpy as np

from trigkit.core.errors import TrigkitError
from trigkit.fixedpoint import set_layers
from trigkit.fixedpoint.fixed import MAX_WIDTH, FixedType

LayerKind = Literal[
    "dense",
    "relu",
    "softmax",
    "sigmoid",
    "linear",
    "pointwise",
    "conv1d",
    "mean_pool",
    "leaky_relu",
    "relu6",
]
LAYER_KINDS: tuple[str, ...] = get_args(LayerKind)
WEIGHTED_KINDS = ("dense", "pointwise", "conv1d")
Backend = Literal["Vitis", "Vivado"]
Strategy = Literal["Latency", "Resource"]
DEFAULT_TABLE_T = FixedType(18, 8, True, "AP_RND", "AP_SAT")


def _pow2(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


@dataclass(frozen=True)
class SoftmaxSpec:
    """hls4ml softmax configuration (``implementation`` 'stable' is hls4ml's default)."""

    implementation: Literal["stable", "latency"] = "stable"
    table_size: int = 1024
    exp_table_t: FixedType = DEFAULT_TABLE_T
    inv_table_t: FixedType = DEFAULT_TABLE_T
    accum_t: FixedType = DEFAULT_TABLE_T
    inv_inp_t: FixedType = DEFAULT_TABLE_T

    def __post_init__(self) -> None:
        if not _pow2(self.table_size):
            raise TrigkitError(f"softmax table_size {self.table_size} must be a power of two")

    def inp_norm_t(self, input_t: FixedType) -> FixedType:
        """Type of ``x_max - x_i`` in the stable implementation (as hls4ml derives it)."""
        s = 1 if input_t.signed else 0
        return FixedType(input_t.width - s, input_t.integer - s, False)

    def table_sizes(self, input_t: FixedType) -> tuple[int, int]:
        """``(exp_table_size, inv_table_size)`` after hls4ml's own adjustments.

        hls4ml shrinks ``table_size`` to ``2**min(input width, inv_table width)`` and, for the
        stable implementation with a signed input, the exp table to ``2**(input width - 1)``.
        """
        size = self.table_size
        limit = 2 ** min(input_t.width, self.inv_table_t.width)
        if limit < size:
            size = limit
        exp_size = size
        if self.implementation == "stable" and input_t.signed:
            exp_size = min(size, 2 ** (input_t.width - 1))
        return exp_size, size

    def exp_index_t(self, input_t: FixedType) -> FixedType:
        """The type whose top bits address the exp table."""
        return self.inp_norm_t(input_t) if self.implementation == "stable" else input_t


@dataclass(frozen=True)
class SigmoidSpec:
    """hls4ml sigmoid table: ``table_size`` entries over [-8, 8) of ``table_t``."""

    table_size: int = 1024
    table_t: FixedType = FixedType(18, 8)

    def __post_init__(self) -> None:
        if not _pow2(self.table_size) or self.table_size < 16:
            raise TrigkitError(f"sigmoid table_size {self.table_size} must be a power of two >= 16")


@dataclass(frozen=True, eq=False)
class FirmwareLayer:
    """One hls4ml layer. ``weight`` has the torch shape ``(n_out, n_in)`` (per constituent for
    ``pointwise``: ``(n_out / n_const, n_in / n_const)``)."""

    name: str
    kind: LayerKind
    n_in: int
    n_out: int
    result_t: FixedType
    weight: np.ndarray | None = None
    bias: np.ndarray | None = None
    weight_t: FixedType | None = None
    bias_t: FixedType | None = None
    accum_t: FixedType | None = None
    reuse_factor: int = 1
    strategy: Strategy | None = None
    softmax: SoftmaxSpec | None = None
    sigmoid: SigmoidSpec | None = None
    n_const: int = 1
    alpha: float | None = None
    param_t: FixedType | None = None
    filt_width: int = 1
    pad: tuple[int, int] = (0, 0)

    def __post_init__(self) -> None:
        where = f"layer '{self.name}'"
        if self.kind not in LAYER_KINDS:
            raise TrigkitError(
                f"{where}: kind '{self.kind}' unknown; valid: {', '.join(LAYER_KINDS)}"
            )
        if self.reuse_factor < 1:
            raise TrigkitError(f"{where}: reuse_factor must be >= 1, got {self.reuse_factor}")
        set_layers.check_layer(self, where)
        if self.kind in WEIGHTED_KINDS:
            if (
                self.weight is None
                or self.bias is None
                or None in (self.weight_t, self.bias_t, self.accum_t)
            ):
                raise TrigkitError(
                    f"{where}: a dense layer needs weight, bias, weight_t, bias_t, accum_t"
                )
            n_out, n_in = set_layers.weight_shape(self)
            if self.weight.shape != (n_out, n_in) or self.bias.shape != (n_out,):
                raise TrigkitError(
                    f"{where}: weight {self.weight.shape} / bias {self.bias.shape} do not match "
                    f"n_in={self.n_in}, n_out={self.n_out}, n_const={self.n_const}"
                )
            _check_on_grid(where + " weight", self.weight, self.weight_t)  # type: ignore[arg-type]
            _check_on_grid(where + " bias", self.bias, self.bias_t)  # type: ignore[arg-type]
        elif self.kind != "mean_pool" and self.n_in != self.n_out:
            raise TrigkitError(f"{where}: an activation needs n_in == n_out")
        if self.kind == "softmax" and self.softmax is None:
            object.__setattr__(self, "softmax", SoftmaxSpec())
        if self.kind == "sigmoid" and self.sigmoid is None:
            object.__setattr__(self, "sigmoid", SigmoidSpec())

    def weight_codes(self) -> np.ndarray:
        assert self.weight is not None and self.weight_t is not None
        return _codes(self.weight, self.weight_t)

    def bias_codes(self) -> np.ndarray:
        assert self.bias is not None and self.bias_t is not None
        return _codes(self.bias, self.bias_t)

    @property
    def n_mult(self) -> int:
        """Non-zero multiplications (zero weights are removed by HLS)."""
        return int(np.count_nonzero(self.weight)) if self.weight is not None else 0

    @property
    def sparsity(self) -> float:
        if self.weight is None or self.weight.size == 0:
            return 0.0
        return 1.0 - self.n_mult / self.weight.size

    def precisions(self) -> dict[str, str]:
        out = {"result": self.result_t.hls()}
        for key in ("weight", "bias", "accum"):
            t = getattr(self, f"{key}_t")
            if t is not None:
                out[key] = t.hls()
        if self.softmax is not None:
            for key in ("exp_table", "inv_table", "accum", "inv_inp"):
                out[f"softmax_{key}"] = getattr(self.softmax, f"{key}_t").hls()
        if self.sigmoid is not None:
            out["table"] = self.sigmoid.table_t.hls()
        if self.param_t is not None:
            out["param"] = self.param_t.hls()
        return out


@dataclass(frozen=True, eq=False)
class FirmwareNetwork:
    """A feed-forward fixed-point network as hls4ml builds it (io_parallel)."""

    name: str
    input_t: FixedType
    input_names: tuple[str, ...]
    layers: tuple[FirmwareLayer, ...]
    output_names: tuple[str, ...] = ()
    backend: Backend = "Vitis"
    io_type: Literal["io_parallel"] = "io_parallel"
    strategy: Strategy = "Latency"
    part: str = "xcvu9p-flga2104-2L-e"
    clock_period_ns: float = 5.0
    project_name: str = "myproject"
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.layers:
            raise TrigkitError(f"network '{self.name}': no layers")
        n = len(self.input_names)
        prev_t = self.input_t
        seen: set[str] = set()
        for layer in self.layers:
            if layer.name in seen or not layer.name.isidentifier():
                raise TrigkitError(f"layer name '{layer.name}' must be a unique identifier")
            seen.add(layer.name)
            if layer.n_in != n:
                raise TrigkitError(
                    f"layer '{layer.name}': n_in={layer.n_in} but the previous layer gives {n}"
                )
            if layer.strategy not in (None, "Latency", "Resource"):
                raise TrigkitError(
                    f"layer '{layer.name}': strategy '{layer.strategy}'; valid: Latency, Resource"
                )
            if layer.kind in WEIGHTED_KINDS:
                assert layer.weight_t is not None
                if prev_t.width + layer.weight_t.width > MAX_WIDTH:
                    raise TrigkitError(
                        f"layer '{layer.name}': input width {prev_t.width} + weight width "
                        f"{layer.weight_t.width} exceeds {MAX_WIDTH} bits"
                    )
            n, prev_t = layer.n_out, layer.result_t
        if self.output_names and len(self.output_names) != n:
            raise TrigkitError(
                f"network '{self.name}': {len(self.output_names)} output names for {n} outputs"
            )
        if self.clock_period_ns <= 0:
            raise TrigkitError(f"clock_period_ns must be > 0, got {self.clock_period_ns}")

    @property
    def n_inputs(self) -> int:
        return len(self.input_names)

    @property
    def n_outputs(self) -> int:
        return self.layers[-1].n_out

    @property
    def output_t(self) -> FixedType:
        return self.layers[-1].result_t

    def input_type_of(self, index: int) -> FixedType:
        """The type feeding layer ``index``."""
        return self.input_t if index == 0 else self.layers[index - 1].result_t

    def with_(self, **changes: Any) -> FirmwareNetwork:
        return replace(self, **changes)

    # -- JSON ---------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "input_t": self.input_t.hls(),
            "input_names": list(self.input_names),
            "output_names": list(self.output_names),
            "backend": self.backend,
            "io_type": self.io_type,
            "strategy": self.strategy,
            "part": self.part,
            "clock_period_ns": self.clock_period_ns,
            "project_name": self.project_name,
            "meta": self.meta,
            "layers": [_layer_json(layer) for layer in self.layers],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FirmwareNetwork:
        try:
            layers = tuple(_layer_from_json(d) for d in data["layers"])
            return cls(
                name=data["name"],
                input_t=FixedType.parse(data["input_t"]),
                input_names=tuple(data["input_names"]),
                output_names=tuple(data.get("output_names", ())),
                layers=layers,
                backend=data["backend"],
                io_type=data["io_type"],
                strategy=data["strategy"],
                part=data["part"],
                clock_period_ns=float(data["clock_period_ns"]),
                project_name=data.get("project_name", "myproject"),
                meta=dict(data.get("meta", {})),
            )
        except KeyError as exc:
            raise TrigkitError(f"firmware network JSON: missing field {exc}") from None


def _codes(values: np.ndarray, t: FixedType) -> np.ndarray:
    return np.rint(np.ldexp(np.asarray(values, dtype=np.float64), t.frac)).astype(np.int64)


def _check_on_grid(where: str, values: np.ndarray, t: FixedType) -> None:
    v = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(v)):
        raise TrigkitError(f"{where}: non-finite values")
    codes = _codes(v, t)
    off = np.count_nonzero(np.ldexp(codes.astype(np.float64), -t.frac) != v)
    outside = np.count_nonzero((codes < t.min_code) | (codes > t.max_code))
    if off or outside:
        raise TrigkitError(
            f"{where}: {off} values off the {t.hls()} grid and {outside} outside its range "
            f"[{t.min}, {t.max}]; quantize them first"
        )


def _layer_json(layer: FirmwareLayer) -> dict[str, Any]:
    d: dict[str, Any] = {
        "name": layer.name,
        "kind": layer.kind,
        "n_in": layer.n_in,
        "n_out": layer.n_out,
        "result_t": layer.result_t.hls(),
        "reuse_factor": layer.reuse_factor,
        "strategy": layer.strategy,
    }
    d |= set_layers.extra_json(layer)
    if layer.kind in WEIGHTED_KINDS:
        d |= {
            "weight_t": layer.weight_t.hls(),  # type: ignore[union-attr]
            "bias_t": layer.bias_t.hls(),  # type: ignore[union-attr]
            "accum_t": layer.accum_t.hls(),  # type: ignore[union-attr]
            "weight_codes": layer.weight_codes().tolist(),
            "bias_codes": layer.bias_codes().tolist(),
        }
    if layer.softmax is not None:
        s = layer.softmax
        d["softmax"] = {
            "implementation": s.implementation,
            "table_size": s.table_size,
            **{
                k: getattr(s, k).hls()
                for k in ("exp_table_t", "inv_table_t", "accum_t", "inv_inp_t")
            },
        }
    if layer.sigmoid is not None:
        d["sigmoid"] = {
            "table_size": layer.sigmoid.table_size,
            "table_t": layer.sigmoid.table_t.hls(),
        }
    return d


def _layer_from_json(d: dict[str, Any]) -> FirmwareLayer:
    kw: dict[str, Any] = set_layers.extra_from_json(d)
    if d["kind"] in WEIGHTED_KINDS:
        wt, bt = FixedType.parse(d["weight_t"]), FixedType.parse(d["bias_t"])
        kw |= {
            "weight_t": wt,
            "bias_t": bt,
            "accum_t": FixedType.parse(d["accum_t"]),
            "weight": np.ldexp(np.asarray(d["weight_codes"], dtype=np.float64), -wt.frac),
            "bias": np.ldexp(np.asarray(d["bias_codes"], dtype=np.float64), -bt.frac),
        }
    if "softmax" in d:
        s = dict(d["softmax"])
        for k in ("exp_table_t", "inv_table_t", "accum_t", "inv_inp_t"):
            s[k] = FixedType.parse(s[k])
        kw["softmax"] = SoftmaxSpec(**s)
    if "sigmoid" in d:
        kw["sigmoid"] = SigmoidSpec(
            d["sigmoid"]["table_size"], FixedType.parse(d["sigmoid"]["table_t"])
        )
    return FirmwareLayer(
        name=d["name"],
        kind=d["kind"],
        n_in=int(d["n_in"]),
        n_out=int(d["n_out"]),
        result_t=FixedType.parse(d["result_t"]),
        reuse_factor=int(d.get("reuse_factor", 1)),
        strategy=d.get("strategy"),
        **kw,
    )


def log2_ceil(n: int) -> int:
    return max(0, math.ceil(math.log2(n))) if n > 0 else 0
