"""Fixed-point quantization-aware training for the FPGA (``ap_fixed`` fake-quantizers).

:func:`quantize_module` wraps an MLP (``nn.Sequential`` of Linear / ReLU [/ Softmax], possibly
inside a wrapper such as ``JetMLP``) into a :class:`QATMLP` whose forward pass computes exactly
what hls4ml's firmware computes: the input, weights and biases are quantized, each product is
cast to the accumulator type, the sum to the layer's result type, ReLU outputs to their type,
and (optionally) the softmax uses hls4ml's lookup tables. The exact path runs on int64 codes; a
straight-through estimator carries gradients to the float weights.

Integer bits come from data: ``QATConfig.bits = 6`` gives ``ap_fixed<6, k>`` weights with ``k``
chosen from each layer's largest weight, and activations ``ap_ufixed<6, k>`` with ``k`` from
the calibration inputs. Every type can be pinned per layer instead (``QATConfig.layers``).
"""

from __future__ import annotations

import logging

import numpy as np
import torch
from torch import nn

from trigkit.compile.qat_config import LayerQuant, QATConfig
from trigkit.core.errors import TrigkitError
from trigkit.firmware.emulate import exp_table, inv_table
from trigkit.fixedpoint import torch_ops as ft
from trigkit.fixedpoint.fixed import FixedType
from trigkit.fixedpoint.kernels import reduce_plan
from trigkit.fixedpoint.network import FirmwareLayer, FirmwareNetwork
from trigkit.fixedpoint.softmax_types import (
    softmax_logit_t,
    softmax_spec,
    widened_logit_t,
    wrapped_rows,
)
from trigkit.fixedpoint.torch_ops import fixed_quantize
from trigkit.models.layers import flatten_mlp

log = logging.getLogger(__name__)
__all__ = [
    "LayerQuant",
    "QATConfig",
    "QATMLP",
    "network_from_qat",
    "quantize_module",
    "weight_overflow",
]


# ------------------------------------------------------------------------------------------
# exact firmware ops on codes
# ------------------------------------------------------------------------------------------


def dense_codes(
    xc: torch.Tensor, in_t: FixedType, layer: FirmwareLayer, wc: torch.Tensor, bc: torch.Tensor
) -> torch.Tensor:
    """``nnet::dense_latency`` on int64 codes: ``xc [B, n_in]``, ``wc [n_out, n_in]``."""
    acc_t, w_t, b_t = layer.accum_t, layer.weight_t, layer.bias_t
    assert acc_t is not None and w_t is not None and b_t is not None
    shift = acc_t.frac - in_t.frac - w_t.frac
    if shift >= 0 and _sum_is_exact(layer, in_t, wc, bc):
        # every product fits accum_t exactly and no partial sum can overflow (or it wraps):
        # one float64 matmul is exact (< 2**53) and equals the step-by-step accumulation
        total = (xc.double() @ wc.double().T).long() << shift
        acc = ft.overflow(ft.requantize(bc, b_t.frac, acc_t) + total, acc_t)
        return ft.requantize(acc, acc_t.frac, layer.result_t)
    prod = ft.requantize(xc[:, :, None] * wc.T[None], in_t.frac + w_t.frac, acc_t)  # [B, in, out]
    acc = ft.requantize(bc, b_t.frac, acc_t).expand(xc.shape[0], -1)
    lazy = acc_t.overflow == "AP_WRAP" and acc_t.width + layer.n_in.bit_length() < 62
    if lazy:
        acc = ft.overflow(acc + prod.sum(dim=1), acc_t)
    else:
        for i in range(layer.n_in):
            acc = ft.overflow(acc + prod[:, i, :], acc_t)
    return ft.requantize(acc, acc_t.frac, layer.result_t)


def _sum_is_exact(
    layer: FirmwareLayer, in_t: FixedType, wc: torch.Tensor, bc: torch.Tensor
) -> bool:
    """True when one exact sum equals hls4ml's step-by-step accumulation for these weights."""
    acc_t, w_t, b_t = layer.accum_t, layer.weight_t, layer.bias_t
    assert acc_t is not None and w_t is not None and b_t is not None
    if in_t.width + w_t.width + layer.n_in.bit_length() > 52:
        return False
    if acc_t.overflow == "AP_WRAP":
        return acc_t.width + layer.n_in.bit_length() < 60
    xmax = max(abs(in_t.min), abs(in_t.max))
    w = ft.to_float(wc, w_t).abs().sum(dim=1) * xmax + ft.to_float(bc, b_t).abs()
    bound = float(w.max()) if w.numel() else 0.0
    return bound <= acc_t.max and -bound >= acc_t.min


def softmax_codes(xc: torch.Tensor, in_t: FixedType, layer: FirmwareLayer) -> torch.Tensor:
    """hls4ml's table softmax ('stable' or 'latency') on int64 codes."""
    s = layer.softmax
    assert s is not None
    e_tab = torch.from_numpy(exp_table(layer, in_t))
    i_tab = torch.from_numpy(inv_table(layer, in_t))
    e_bits, i_bits = (len(e_tab) - 1).bit_length(), (len(i_tab) - 1).bit_length()
    if s.implementation == "stable":
        norm = s.inp_norm_t(in_t)
        d = (xc.max(dim=1, keepdim=True).values - xc) & ((1 << norm.width) - 1)
        idx = (d >> (norm.width - e_bits)) & ((1 << e_bits) - 1)
    else:
        raw = xc & ((1 << in_t.width) - 1)
        idx = (raw >> (in_t.width - e_bits)) & ((1 << e_bits) - 1)
    exp_res = ft.requantize(e_tab[idx], s.exp_table_t.frac, s.accum_t)
    slots = [exp_res[:, c] for c in range(exp_res.shape[1])]
    for dst, a, b in reduce_plan(exp_res.shape[1]).tolist():
        assert dst == len(slots)
        slots.append(ft.overflow(slots[a] + slots[b], s.accum_t))
    total = ft.requantize(slots[-1], s.accum_t.frac, s.inv_inp_t)
    raw = total & ((1 << s.inv_inp_t.width) - 1)
    inv = i_tab[(raw >> (s.inv_inp_t.width - i_bits)) & ((1 << i_bits) - 1)]
    return ft.requantize(
        exp_res * inv[:, None], s.accum_t.frac + s.inv_table_t.frac, layer.result_t
    )


# ------------------------------------------------------------------------------------------
# the QAT module
# ------------------------------------------------------------------------------------------


class QATMLP(nn.Module):
    """A quantized MLP whose forward equals the firmware bit for bit (see module docstring).

    ``forward`` returns the logits (output of the last dense layer) as float64 values on their
    grid, for training; :meth:`firmware_forward` returns the firmware's final output (after the
    softmax when configured); :meth:`firmware_codes` its int64 codes.
    """

    def __init__(self, linears: list[nn.Linear], plan: FirmwareNetwork) -> None:
        super().__init__()
        self.linears = nn.ModuleList(linears)
        self.plan = plan

    @property
    def input_t(self) -> FixedType:
        return self.plan.input_t

    def _dense_layers(self) -> list[FirmwareLayer]:
        return [layer for layer in self.plan.layers if layer.kind == "dense"]

    def _run(
        self, x: torch.Tensor, *, with_softmax: bool
    ) -> tuple[torch.Tensor, torch.Tensor, FixedType]:
        """(float STE value, exact codes, type) after the network (or up to the logits)."""
        t = self.plan.input_t
        y = fixed_quantize(x.double(), t)
        codes = ft.quantize_codes(x, t)
        k = 0
        for i, layer in enumerate(self.plan.layers):
            in_t = self.plan.input_type_of(i)
            if layer.kind == "dense":
                lin = self.linears[k]
                k += 1
                assert layer.weight_t is not None and layer.bias_t is not None
                wq = fixed_quantize(lin.weight.double(), layer.weight_t)
                bq = fixed_quantize(lin.bias.double(), layer.bias_t)
                with torch.no_grad():
                    wc = ft.quantize_codes(lin.weight, layer.weight_t)
                    bc = ft.quantize_codes(lin.bias, layer.bias_t)
                    codes = dense_codes(codes, in_t, layer, wc, bc)
                y_float = nn.functional.linear(y, wq, bq)
            elif layer.kind == "relu":
                with torch.no_grad():
                    codes = ft.requantize(codes.clamp(min=0), in_t.frac, layer.result_t)
                y_float = torch.relu(y)
            elif layer.kind == "softmax":
                if not with_softmax:
                    break
                with torch.no_grad():
                    codes = softmax_codes(codes, in_t, layer)
                y_float = torch.softmax(y, dim=-1)
            else:
                raise TrigkitError(
                    f"layer '{layer.name}': kind '{layer.kind}' not supported by QATMLP"
                )
            exact = ft.to_float(codes, layer.result_t)
            y = y_float + (exact - y_float).detach()
            t = layer.result_t
        return y, codes, t

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._run(x, with_softmax=False)[0]

    def firmware_forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._run(x, with_softmax=True)[0]

    @torch.no_grad()
    def firmware_codes(self, x: torch.Tensor) -> torch.Tensor:
        return self._run(x, with_softmax=True)[1]

    def to_network(self, **overrides: object) -> FirmwareNetwork:
        """The :class:`FirmwareNetwork` with the current (quantized) weights."""
        return network_from_qat(self, **overrides)


def network_from_qat(qat: QATMLP, **overrides: object) -> FirmwareNetwork:
    """Freeze a :class:`QATMLP` into a :class:`FirmwareNetwork` (weights exactly on grid).

    ``overrides`` replace network fields (name, input_names, output_names, backend, strategy,
    part, clock_period_ns, ...).
    """
    layers, k = [], 0
    for layer in qat.plan.layers:
        if layer.kind == "dense":
            lin = qat.linears[k]
            k += 1
            with torch.no_grad():
                w = ft.to_float(ft.quantize_codes(lin.weight, layer.weight_t), layer.weight_t)  # type: ignore[arg-type]
                b = ft.to_float(ft.quantize_codes(lin.bias, layer.bias_t), layer.bias_t)  # type: ignore[arg-type]
            layer = FirmwareLayer(**{**layer.__dict__, "weight": w.numpy(), "bias": b.numpy()})
        layers.append(layer)
    return qat.plan.with_(layers=tuple(layers), **overrides)


# ------------------------------------------------------------------------------------------
# building a QATMLP from a float module
# ------------------------------------------------------------------------------------------


def _int_bits_signed(width: int, values: np.ndarray, q: float, modes: tuple[str, str]) -> FixedType:
    m = float(np.quantile(np.abs(values), q)) if values.size else 0.0
    return FixedType(width, 1, True, *modes).covering(-m, m)  # type: ignore[arg-type]


def _softmax_logit_type(
    name: str, pinned: FixedType | None, logits: np.ndarray, config: QATConfig
) -> FixedType:
    """The type of the logits a softmax reads (``trigkit.fixedpoint.softmax_types``). A pinned
    one (e.g. a model QAT-trained without the softmax) that would wrap ``x_max - x_i`` on the
    calibration rows gets integer bits added, its LSB kept: the logits it held stay the same."""
    modes = (config.rounding, config.overflow)
    if pinned is None:
        return softmax_logit_t(config.logit_bits, logits, config.range_quantile, modes)
    wider = widened_logit_t(pinned, logits, config.range_quantile)
    if wider != pinned:
        log.warning(
            "layer '%s': the pinned logit type %s does not hold x_max - x_i of the softmax on "
            "%d of %d calibration rows (it would wrap there); widened to %s, same LSB",
            name,
            pinned.hls(),
            wrapped_rows(logits, pinned),
            len(logits),
            wider.hls(),
        )
    return wider


def quantize_module(
    module: nn.Module, config: QATConfig, calib: np.ndarray | torch.Tensor, **network_fields: object
) -> QATMLP:
    """Wrap ``module`` (a float MLP taking preprocessed inputs) into a :class:`QATMLP`.

    ``calib`` (``[n, n_features]``) sets the integer bits of the input and activation types.
    ``network_fields`` go to the :class:`FirmwareNetwork` (name, input_names, backend, ...).
    """
    seq = flatten_mlp(module)
    linears = [m for m in seq if isinstance(m, nn.Linear)]
    if not linears or not isinstance(seq[0], nn.Linear):
        raise TrigkitError("quantize_module: the model must start with an nn.Linear layer")
    if any(isinstance(m, nn.Softmax) for m in seq[:-1]):
        raise TrigkitError("quantize_module: nn.Softmax is only supported as the last layer")
    x = torch.as_tensor(np.asarray(calib, dtype=np.float32))
    if x.ndim != 2 or x.shape[1] != linears[0].in_features or len(x) == 0:
        raise TrigkitError(
            f"calibration inputs: expected (n>0, {linears[0].in_features}), got {tuple(x.shape)}"
        )
    _check_same_function(module, seq, x[:64])
    modes = (config.rounding, config.overflow)
    in_t = _pin(config.input_type) or _int_bits_signed(
        config.input_bits, x.numpy(), config.range_quantile, modes
    )
    layers: list[FirmwareLayer] = []
    prev_t, h = in_t, x
    relu_after = {
        i
        for i, m in enumerate(seq[:-1])
        if isinstance(m, nn.Linear) and isinstance(seq[i + 1], nn.ReLU)
    }
    with_softmax = config.softmax or isinstance(seq[-1], nn.Softmax)
    n_dense = 0
    overflow: dict[str, dict[str, object]] = {}
    for i, m in enumerate(seq):
        if not isinstance(m, nn.Linear):
            continue
        n_dense += 1
        name = f"fc{n_dense}"
        pin = config.layers.get(name, LayerQuant())
        with torch.no_grad():
            h = m(h)
        if m.bias is None:
            raise TrigkitError(
                f"layer '{name}': nn.Linear without bias is not supported; use bias=True"
            )
        w_np = m.weight.detach().double().numpy()
        b_np = m.bias.detach().double().numpy()
        wt = _pin(pin.weight) or _int_bits_signed(config.bits, w_np, 1.0, ("AP_RND_CONV", "AP_SAT"))
        bt = _pin(pin.bias) or _int_bits_signed(config.bits, b_np, 1.0, ("AP_RND_CONV", "AP_SAT"))
        acc = _pin(pin.accum) or _accum_type(prev_t, wt, bt, m.in_features, config)
        hidden = i in relu_after
        h_np = h.numpy().astype(np.float64)
        if hidden:
            res = _pin(pin.result) or _int_bits_signed(
                config.bits + 1, h_np, config.range_quantile, modes
            )
        elif with_softmax and m is linears[-1]:  # logits a softmax reads: fixedpoint.softmax_types
            res = _softmax_logit_type(name, _pin(pin.result), h_np, config)
        else:
            res = _pin(pin.result) or _int_bits_signed(
                config.logit_bits, h_np, config.range_quantile, modes
            )
        overflow[name] = {
            "weight": _n_saturated(w_np, wt),
            "bias": _n_saturated(b_np, bt),
            "weight_t": wt.hls(),
            "bias_t": bt.hls(),
            "max_abs_weight": float(np.abs(w_np).max()),
        }
        layers.append(
            FirmwareLayer(
                name,
                "dense",
                m.in_features,
                m.out_features,
                res,
                weight=_on_grid(w_np, wt),
                bias=_on_grid(b_np, bt),
                weight_t=wt,
                bias_t=bt,
                accum_t=acc,
                reuse_factor=pin.reuse_factor,
            )
        )
        prev_t = res
        if hidden:
            h = torch.relu(h)
            act = _pin(pin.activation) or FixedType(config.bits, 1, False, *modes).covering(  # type: ignore[arg-type]
                0.0, float(np.quantile(h.numpy(), config.range_quantile))
            )
            layers.append(
                FirmwareLayer(f"relu{n_dense}", "relu", m.out_features, m.out_features, act)
            )
            prev_t = act
    n_out = linears[-1].out_features
    if with_softmax:
        spec = softmax_spec(n_out, config.softmax_table_size)
        out_t = FixedType(config.logit_bits, 1, False, "AP_RND", "AP_SAT")
        layers.append(FirmwareLayer("softmax", "softmax", n_out, n_out, out_t, softmax=spec))
    fields: dict[str, object] = {
        "name": "qat_mlp",
        "input_names": tuple(f"x{i}" for i in range(linears[0].in_features)),
        "meta": {"qat": config.to_dict(), "weight_overflow": overflow},
    }
    for name, o in overflow.items():
        if o["weight"] or o["bias"]:
            log.warning(
                "layer '%s': %s weights do not fit %s and %s biases do not fit %s (saturated)",
                name,
                o["weight"],
                o["weight_t"],
                o["bias"],
                o["bias_t"],
            )
    fields.update(network_fields)
    plan = FirmwareNetwork(input_t=in_t, layers=tuple(layers), **fields)  # type: ignore[arg-type]
    return QATMLP([_copy_linear(m) for m in linears], plan)


def _n_saturated(values: np.ndarray, t: FixedType) -> int:
    """Values that ``t`` cannot hold to within half an LSB (they saturate or wrap)."""
    return int(np.count_nonzero((values > t.max + t.lsb / 2) | (values < t.min - t.lsb / 2)))


def weight_overflow(network: FirmwareNetwork) -> dict[str, dict[str, object]]:
    """Per dense layer: how many weights / biases saturated when the network was quantized."""
    return {
        k: v for k, v in network.meta.get("weight_overflow", {}).items() if v["weight"] or v["bias"]
    }


def _check_same_function(module: nn.Module, seq: list[nn.Module], x: torch.Tensor) -> None:
    """The flattened layer sequence must compute what ``module.forward`` computes."""
    with torch.no_grad():
        want = module(x)
        got = x
        for m in seq:
            got = m(got)
    if want.shape != got.shape or not torch.allclose(want, got, rtol=1e-5, atol=1e-6):
        raise TrigkitError(
            f"{type(module).__name__}: its forward() is not the plain sequence of its layers "
            "(Linear/ReLU/Softmax); only such MLPs can be converted for the FPGA"
        )


def _pin(text: str | None) -> FixedType | None:
    return FixedType.parse(text) if text else None


def _on_grid(values: np.ndarray, t: FixedType) -> np.ndarray:
    return ft.to_float(ft.quantize_codes(torch.from_numpy(values), t), t).numpy()


def _accum_type(
    in_t: FixedType, wt: FixedType, bt: FixedType, n_in: int, config: QATConfig
) -> FixedType:
    """Exact accumulator (no rounding, no overflow) unless ``accum_bits`` is set."""
    frac = max(in_t.frac + wt.frac, bt.frac)
    grow = (n_in + 1).bit_length()
    integer = max(in_t.integer + wt.integer, bt.integer) + grow
    if config.accum_bits is None:
        return FixedType(frac + integer, integer, True, "AP_TRN", "AP_WRAP")
    return FixedType(config.accum_bits, integer, True, config.rounding, config.overflow)


def _copy_linear(m: nn.Linear) -> nn.Linear:
    new = nn.Linear(m.in_features, m.out_features)
    with torch.no_grad():
        new.weight.copy_(m.weight)
        new.bias.copy_(m.bias)
    return new
