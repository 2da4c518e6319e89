"""Bit-exact emulation of an hls4ml io_parallel network (:class:`FirmwareEmulator`).

``predict(x)`` converts float64 inputs to ``input_t`` exactly as hls4ml's C simulation does
(``ap_fixed(double)``; NaN/Inf included), runs one numba kernel per layer over the whole batch
and returns the output codes as float64 values (exact). The lookup tables of softmax are built
the way ``nnet_activation.h`` builds them: float32 arithmetic, ``std::exp`` in float, then a
cast of the float to the table type.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trigkit.bundle.manifest import load_bundle
from trigkit.core.errors import TrigkitError
from trigkit.fixedpoint import kernels, set_kernels
from trigkit.fixedpoint.fixed import FixedType, requantize
from trigkit.fixedpoint.network import WEIGHTED_KINDS, FirmwareLayer, FirmwareNetwork
from trigkit.fixedpoint.set_layers import alpha_code, im2col_index

log = logging.getLogger(__name__)


def _index_values(t: FixedType, n_bits: int) -> np.ndarray:
    """Values of ``t`` whose top ``n_bits`` are ``i`` and the rest zero, for every ``i``
    (``softmax_real_val_from_idx``), as float32."""
    raw = np.arange(2**n_bits, dtype=np.int64) << (t.width - n_bits)
    if t.signed:
        raw = np.where(raw >= 2 ** (t.width - 1), raw - 2**t.width, raw)
    return np.ldexp(raw.astype(np.float64), -t.frac).astype(np.float32)


def _to_codes(values_f32: np.ndarray, t: FixedType) -> np.ndarray:
    x = np.ascontiguousarray(values_f32.astype(np.float64).reshape(1, -1))
    return kernels.quantize_rows(x, *t.params())[0]


def exp_table(layer: FirmwareLayer, input_t: FixedType, exp_scale: float = 1.0) -> np.ndarray:
    """``init_exp_table``: codes of ``exp_table_t(expf(x * exp_scale))`` (negated for stable)."""
    spec = layer.softmax
    assert spec is not None
    size, _ = spec.table_sizes(input_t)
    n_bits = (size - 1).bit_length()
    x = _index_values(spec.exp_index_t(input_t), n_bits)[:size] * np.float32(exp_scale)
    if spec.implementation == "stable":
        x = -x
    with np.errstate(over="ignore"):
        e = np.exp(x.astype(np.float64)).astype(np.float32)  # correctly rounded expf
    return _to_codes(e, spec.exp_table_t)


def inv_table(layer: FirmwareLayer, input_t: FixedType) -> np.ndarray:
    """``init_invert_table``: codes of ``inv_table_t(1 / x)`` with ``x`` from ``inv_inp_t``."""
    spec = layer.softmax
    assert spec is not None
    _, size = spec.table_sizes(input_t)
    n_bits = (size - 1).bit_length()
    x = _index_values(spec.inv_inp_t, n_bits)[:size]
    with np.errstate(divide="ignore"):
        inv = np.float32(1.0) / x
    return _to_codes(inv, spec.inv_table_t)


def sigmoid_table(layer: FirmwareLayer) -> np.ndarray:
    """``init_sigmoid_table``: ``table_t(1 / (1 + expf(-x)))`` for x over [-8, 8) (float math)."""
    spec = layer.sigmoid
    assert spec is not None
    n = spec.table_size
    x = (16.0 * (np.arange(n, dtype=np.float64) - n / 2.0) / n).astype(np.float32)
    with np.errstate(over="ignore"):
        e = np.exp(-x.astype(np.float64)).astype(np.float32)  # std::exp(float)
    d = (np.float32(1.0) + e).astype(np.float32)  # 1 + float -> float
    value = (1.0 / d.astype(np.float64)).astype(np.float32)  # 1.0 / float -> double -> float
    return _to_codes(value, spec.table_t)


@dataclass(frozen=True, eq=False)
class _Step:
    layer: FirmwareLayer
    in_t: FixedType
    arrays: tuple[np.ndarray, ...]
    exact: bool = False  # dense layer on the exact-sum fast path (arrays hold w.T, accum bias)


class FirmwareEmulator:
    """Runs a :class:`FirmwareNetwork` bit for bit as hls4ml's C simulation does."""

    def __init__(self, network: FirmwareNetwork) -> None:
        self.network = network
        self._steps: list[_Step] = []
        for i, layer in enumerate(network.layers):
            in_t = network.input_type_of(i)
            exact = layer.kind in WEIGHTED_KINDS and _exact_path_ok(layer, in_t)
            self._steps.append(_Step(layer, in_t, self._prepare(layer, in_t, network), exact))

    @staticmethod
    def _prepare(
        layer: FirmwareLayer, in_t: FixedType, net: FirmwareNetwork
    ) -> tuple[np.ndarray, ...]:
        if layer.kind in WEIGHTED_KINDS:
            strategy = layer.strategy or net.strategy
            if strategy == "Resource" and layer.accum_t.overflow == "AP_SAT":  # type: ignore[union-attr]
                _check_no_accum_overflow(layer, in_t)
            w, b = layer.weight_codes(), layer.bias_codes()
            if _exact_path_ok(layer, in_t):
                acc = layer.accum_t
                assert acc is not None and layer.bias_t is not None
                b_acc = np.array(
                    [requantize(int(v), layer.bias_t.frac, *acc.params()) for v in b],
                    dtype=np.int64,
                )
                return (np.ascontiguousarray(w.T), b_acc, *_im2col(layer))
            return (np.ascontiguousarray(w), np.ascontiguousarray(b), *_im2col(layer))
        if layer.kind == "softmax":
            return (exp_table(layer, in_t), inv_table(layer, in_t), kernels.reduce_plan(layer.n_in))
        if layer.kind == "sigmoid":
            return (sigmoid_table(layer),)
        return ()

    @classmethod
    def from_bundle(cls, path: str | Path) -> FirmwareEmulator:
        """The emulator of an FPGA bundle (hashes verified), checked against its reference
        outputs."""
        bundle = load_bundle(path, target="fpga")
        data = bundle.manifest.target_info.get("network")
        if not isinstance(data, dict):
            raise TrigkitError(f"{path}: manifest target_info has no firmware network")
        emu = cls(FirmwareNetwork.from_json(data))
        ins, outs = bundle.reference()
        if len(ins) != 1 or len(outs) != 1:
            raise TrigkitError(f"{path}: expected one reference input and output array")
        x, y = next(iter(ins.values())), next(iter(outs.values()))
        bad = int(np.count_nonzero(np.any(emu.predict(x) != y, axis=1)))
        if bad:
            raise TrigkitError(
                f"{path}: the emulator disagrees with {bad} stored reference outputs"
            )
        return emu

    # -- public API ---------------------------------------------------------------------
    def quantize_inputs(self, x: np.ndarray) -> np.ndarray:
        """float inputs ``[n, n_inputs]`` -> int64 codes of ``input_t``."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.network.n_inputs:
            raise TrigkitError(
                f"firmware inputs: expected shape (n, {self.network.n_inputs}) "
                f"({', '.join(self.network.input_names)}), got {x.shape}"
            )
        return kernels.quantize_rows(np.ascontiguousarray(x), *self.network.input_t.params())

    def run_codes(self, codes: np.ndarray, upto: int | None = None) -> np.ndarray:
        """Run input codes through the layers (the first ``upto`` of them if given)."""
        v = np.ascontiguousarray(codes, dtype=np.int64)
        steps = self._steps[:upto]
        k = 0
        while k < len(steps):
            nxt = steps[k + 1] if k + 1 < len(steps) else None
            if nxt is not None and nxt.layer.kind == "relu" and self._fusable(steps[k]):
                v = self._run(steps[k], v, relu=nxt.layer)  # dense + relu in one pass
                k += 2
            else:
                v = self._run(steps[k], v)
                k += 1
        return v

    @staticmethod
    def _fusable(step: _Step) -> bool:
        return step.exact and step.layer.kind == "dense"

    def predict_codes(self, x: np.ndarray) -> np.ndarray:
        return self.run_codes(self.quantize_inputs(x))

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Firmware outputs as float64 (exact values of the output codes)."""
        return np.ldexp(self.predict_codes(x).astype(np.float64), -self.network.output_t.frac)

    def trace(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Every layer's output (float64 values), keyed by layer name."""
        v = self.quantize_inputs(x)
        out = {}
        for step in self._steps:
            v = self._run(step, v)
            out[step.layer.name] = np.ldexp(v.astype(np.float64), -step.layer.result_t.frac)
        return out

    # -- dispatch -----------------------------------------------------------------------
    @classmethod
    def _run(cls, step: _Step, v: np.ndarray, relu: FirmwareLayer | None = None) -> np.ndarray:
        layer = step.layer
        if layer.kind == "pointwise":  # the dense arithmetic on every constituent
            rows = set_kernels.per_constituent(v, layer.n_const)
            return set_kernels.per_jet(cls._run_dense(step, rows), layer.n_const)
        if layer.kind == "conv1d":  # the dense arithmetic on every im2col window
            windows = set_kernels.im2col(v, step.arrays[2])
            return set_kernels.per_jet(cls._run_dense(step, windows), len(step.arrays[2]))
        if layer.kind == "dense":
            return cls._run_dense(step, v, relu)
        return cls._run_activation(step, v)

    @staticmethod
    def _run_dense(step: _Step, v: np.ndarray, relu: FirmwareLayer | None = None) -> np.ndarray:
        layer, in_t = step.layer, step.in_t
        res = layer.result_t.params()
        w, b = step.arrays[:2]
        acc = layer.accum_t
        assert acc is not None and layer.weight_t is not None
        if step.exact:
            shift = acc.frac - in_t.frac - layer.weight_t.frac
            post = (True, *relu.result_t.params()) if relu is not None else ()
            return kernels.dense_exact(
                v, w, b, shift, acc.q, acc.width, acc.signed, acc.o, acc.frac, *res, *post
            )
        assert relu is None
        return kernels.dense(
            v,
            in_t.frac,
            w,
            layer.weight_t.frac,
            b,
            layer.bias_t.frac,  # type: ignore[union-attr]
            *layer.accum_t.params(),
            *res,  # type: ignore[union-attr]
        )

    @staticmethod
    def _run_activation(step: _Step, v: np.ndarray) -> np.ndarray:
        layer, in_t = step.layer, step.in_t
        res = layer.result_t.params()
        if layer.kind == "mean_pool":
            acc = layer.accum_t.params()  # type: ignore[union-attr]
            return set_kernels.mean_pool(v, in_t.frac, layer.n_const, *acc, *res)
        if layer.kind == "leaky_relu":
            fa = layer.param_t.frac  # type: ignore[union-attr]
            return set_kernels.leaky_relu(v, in_t.frac, alpha_code(layer), fa, *res)
        if layer.kind == "relu6":
            return set_kernels.relu6(v, in_t.frac, *res)
        if layer.kind == "relu":
            return kernels.relu(v, in_t.frac, *res)
        if layer.kind == "linear":
            return kernels.cast(v, in_t.frac, *res)
        if layer.kind == "sigmoid":
            assert layer.sigmoid is not None
            return kernels.sigmoid(v, in_t.frac, step.arrays[0], layer.sigmoid.table_t.frac, *res)
        spec = layer.softmax
        assert spec is not None
        exp_t, inv_t, plan = step.arrays
        norm_t = spec.inp_norm_t(in_t)
        return kernels.softmax(
            v,
            in_t.width,
            spec.implementation == "stable",
            norm_t.width,
            exp_t,
            (len(exp_t) - 1).bit_length(),
            spec.exp_table_t.frac,
            inv_t,
            (len(inv_t) - 1).bit_length(),
            spec.inv_table_t.frac,
            plan,
            *spec.accum_t.params(),
            *spec.inv_inp_t.params(),
            *res,
        )


def _im2col(layer: FirmwareLayer) -> tuple[np.ndarray, ...]:
    return (im2col_index(layer),) if layer.kind == "conv1d" else ()


def _accum_bound(layer: FirmwareLayer, in_t: FixedType) -> float:
    """An upper bound of ``|partial sum|`` at any step of the dense accumulation."""
    assert layer.weight is not None and layer.bias is not None and layer.accum_t is not None
    xmax = max(abs(in_t.min), abs(in_t.max))
    bound = (
        np.abs(layer.bias)
        + np.abs(layer.weight).sum(axis=1) * xmax
        + layer.n_in * layer.accum_t.lsb
    )
    return float(bound.max()) if bound.size else 0.0


def _exact_path_ok(layer: FirmwareLayer, in_t: FixedType) -> bool:
    acc, wt = layer.accum_t, layer.weight_t
    assert acc is not None and wt is not None
    shift = acc.frac - in_t.frac - wt.frac
    # the exact sum must fit an int64 before the shift and after it
    if in_t.width + wt.width + max(1, layer.n_in).bit_length() + max(shift, 0) > 61:
        return False
    if acc.overflow == "AP_WRAP":
        return True
    worst = _accum_bound(layer, in_t)
    return worst <= acc.max and -worst >= acc.min


def _check_no_accum_overflow(layer: FirmwareLayer, in_t: FixedType) -> None:
    """Resource strategy sums in another order; with a saturating accumulator that only agrees
    if the accumulator can never overflow."""
    acc = layer.accum_t
    assert acc is not None
    worst = _accum_bound(layer, in_t)
    if worst > acc.max or -worst < acc.min:
        raise TrigkitError(
            f"layer '{layer.name}': Resource strategy with a saturating accumulator "
            f"{acc.hls()} that can overflow (|sum| up to {worst:g}); widen accum or use AP_WRAP"
        )
