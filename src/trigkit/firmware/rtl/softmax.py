"""hls4ml's lookup-table softmax as a da4ml trace (for the RTL path).

Statement by statement as ``nnet::softmax_stable`` / ``softmax_latency`` and the emulator's
kernel: ``x_max``; ``d = inp_norm_t(x_max - x)`` (stable); the top bits of ``d`` (or of ``x``)
address the exp table (da4ml ROM); the exponentials are summed in ``accum_t`` along hls4ml's
``nnet::reduce`` tree, cast to ``inv_inp_t``; its top bits address the 1/x table; each output
is ``result_t(exp_i * inv)`` (a real multiplier). The table contents are the emulator's own
(:func:`~trigkit.firmware.emulate.exp_table`, :func:`~trigkit.firmware.emulate.inv_table`).
"""

from __future__ import annotations

import numpy as np

from trigkit.firmware.emulate import exp_table, inv_table
from trigkit.fixedpoint.fixed import FixedType, requantize
from trigkit.fixedpoint.kernels import reduce_plan
from trigkit.fixedpoint.network import FirmwareLayer


def _mode(t: FixedType) -> tuple[str, str]:
    return ("SAT" if t.overflow == "AP_SAT" else "WRAP"), (
        "RND" if t.rounding == "AP_RND" else "TRN"
    )


def _top_bits(x, t: FixedType, n_bits: int):  # noqa: ANN001, ANN202 - da4ml arrays
    """``x`` (of type ``t``) truncated to its top ``n_bits`` raw bits, and that grid's frac."""
    k, i, f = t.kif
    f_top = f - (t.width - n_bits)
    return x.quantize(k, i, f_top, "WRAP", "TRN"), f_top


def _table_fn(values_codes: np.ndarray, f_idx: int, n_bits: int, f_out: int):  # noqa: ANN202
    """A function value -> table value, indexing by the raw top-bit pattern of the value."""
    table = np.ldexp(values_codes.astype(np.float64), -f_out)
    mask = (1 << n_bits) - 1

    def fn(v: np.ndarray) -> np.ndarray:
        idx = np.rint(np.ldexp(np.asarray(v, dtype=np.float64), f_idx)).astype(np.int64) & mask
        return table[idx]

    return fn


def trace_softmax(x, layer: FirmwareLayer, in_t: FixedType):  # noqa: ANN001, ANN201 - da4ml arrays
    spec = layer.softmax
    assert spec is not None
    acc, ii_t, inv_t = spec.accum_t, spec.inv_inp_t, spec.inv_table_t
    exp_codes, inv_codes = exp_table(layer, in_t), inv_table(layer, in_t)
    exp_bits, inv_bits = (len(exp_codes) - 1).bit_length(), (len(inv_codes) - 1).bit_length()
    # exp table entries as the kernel adds them: requantized from exp_table_t to accum_t
    exp_acc = np.array(
        [requantize(int(c), spec.exp_table_t.frac, *acc.params()) for c in exp_codes]
    )
    if spec.implementation == "stable":
        norm_t = spec.inp_norm_t(in_t)
        xmax = np.amax(x)
        diff = np.array([xmax - x[c] for c in range(layer.n_in)], dtype=object)
        d = type(x)(diff, x.solver_options, hwconf=x.hwconf)
        d = d.quantize(*norm_t.kif, "WRAP", "TRN")  # ap_ufixed<W-1, I-1> wraps
        src, f_idx = _top_bits(d, norm_t, exp_bits)
    else:
        src, f_idx = _top_bits(x, in_t, exp_bits)
    e = src.apply(_table_fn(exp_acc, f_idx, exp_bits, acc.frac)).quantize(*acc.kif, "WRAP", "TRN")
    scratch = [e[c] for c in range(layer.n_in)]
    over = _mode(acc)[0]
    plan = reduce_plan(layer.n_in)
    for dst, a, b in plan:
        assert dst == len(scratch)
        scratch.append((scratch[a] + scratch[b]).quantize(*acc.kif, over, "TRN"))
    total = scratch[-1]
    s = total.quantize(*ii_t.kif, *_mode(ii_t))
    s_arr = type(e)(np.array([s]), e.solver_options, hwconf=e.hwconf)
    src2, f_idx2 = _top_bits(s_arr, ii_t, inv_bits)
    inv = src2.apply(_table_fn(inv_codes, f_idx2, inv_bits, inv_t.frac)).quantize(
        *inv_t.kif, "WRAP", "TRN"
    )
    res = layer.result_t
    return (e * inv[0]).quantize(*res.kif, *_mode(res))
