"""The numba emulator against an independent Fraction-based reference of hls4ml's layers.

(Agreement with hls4ml's C simulation itself is tested in tests/compile/test_target_fpga.py,
which builds the C simulation once.)
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from tests.firmware.test_fixed import ref_overflow, ref_quantize_float, ref_quantize_value
from trigkit.core.errors import TrigkitError
from trigkit.firmware.emulate import FirmwareEmulator, exp_table, inv_table, sigmoid_table
from trigkit.fixedpoint.fixed import FixedType
from trigkit.fixedpoint.kernels import reduce_plan
from trigkit.fixedpoint.network import FirmwareLayer, FirmwareNetwork, SigmoidSpec, SoftmaxSpec
from trigkit.fixedpoint.random_net import edge_inputs, random_network


def _val(code: int, t: FixedType) -> Fraction:
    return t.to_fraction(code)


def ref_dense(xc: list[int], in_t: FixedType, layer: FirmwareLayer) -> list[int]:
    acc_t, out = layer.accum_t, []
    assert acc_t is not None
    wc, bc = layer.weight_codes(), layer.bias_codes()
    for j in range(layer.n_out):
        acc = ref_quantize_value(_val(int(bc[j]), layer.bias_t), acc_t)  # type: ignore[arg-type]
        for i in range(layer.n_in):
            p = _val(xc[i], in_t) * _val(int(wc[j, i]), layer.weight_t)  # type: ignore[arg-type]
            acc = ref_overflow(acc + ref_quantize_value(p, acc_t), acc_t)
        out.append(ref_quantize_value(_val(acc, acc_t), layer.result_t))
    return out


def ref_softmax(xc: list[int], in_t: FixedType, layer: FirmwareLayer) -> list[int]:
    s = layer.softmax
    assert s is not None
    e_tab, i_tab = exp_table(layer, in_t), inv_table(layer, in_t)
    nb_e, nb_i = (len(e_tab) - 1).bit_length(), (len(i_tab) - 1).bit_length()
    norm = s.inp_norm_t(in_t)
    xmax = max(xc)
    idx = [((xmax - v) % (1 << norm.width)) >> (norm.width - nb_e) for v in xc]
    exp_res = [ref_quantize_value(_val(int(e_tab[k]), s.exp_table_t), s.accum_t) for k in idx]
    slots = list(exp_res)
    for _dst, a, b in reduce_plan(len(xc)).tolist():
        slots.append(ref_overflow(slots[a] + slots[b], s.accum_t))
    total = ref_quantize_value(_val(slots[-1], s.accum_t), s.inv_inp_t)
    raw = total % (1 << s.inv_inp_t.width)
    inv = int(i_tab[raw >> (s.inv_inp_t.width - nb_i)])
    return [
        ref_quantize_value(_val(e, s.accum_t) * _val(inv, s.inv_table_t), layer.result_t)
        for e in exp_res
    ]


def ref_sigmoid(xc: list[int], in_t: FixedType, layer: FirmwareLayer) -> list[int]:
    table, s = sigmoid_table(layer), layer.sigmoid
    assert s is not None
    n = s.table_size
    out = []
    for c in xc:
        index = min(max(int(_val(c, in_t) * n / 16) + n // 2, 0), n - 1)  # int() truncates to 0
        out.append(ref_quantize_value(_val(int(table[index]), s.table_t), layer.result_t))
    return out


def ref_network(net: FirmwareNetwork, x: np.ndarray) -> np.ndarray:
    rows = []
    for row in x:
        v = [ref_quantize_float(float(a), net.input_t) for a in row]
        for k, layer in enumerate(net.layers):
            in_t = net.input_type_of(k)
            if layer.kind == "dense":
                v = ref_dense(v, in_t, layer)
            elif layer.kind == "relu":
                v = [ref_quantize_value(_val(max(c, 0), in_t), layer.result_t) for c in v]
            elif layer.kind == "softmax":
                v = ref_softmax(v, in_t, layer)
            elif layer.kind == "sigmoid":
                v = ref_sigmoid(v, in_t, layer)
        rows.append(v)
    return np.asarray(rows, dtype=np.int64)


NETWORKS = {
    "default": {},
    "narrow-sat-accum": {"accum_t": FixedType(10, 4, True, "AP_RND", "AP_SAT")},
    "narrow-wrap-accum": {
        "accum_t": FixedType(9, 3, True, "AP_TRN", "AP_WRAP"),
        "act_t": FixedType(6, 2, True, "AP_TRN", "AP_WRAP"),
    },
    "conv-rounding": {
        "accum_t": FixedType(14, 5, True, "AP_RND_CONV", "AP_SAT"),
        "act_t": FixedType(7, 3, False, "AP_RND_CONV", "AP_SAT"),
    },
    "small-tables": {
        "softmax": SoftmaxSpec(
            table_size=64,
            exp_table_t=FixedType(10, 3, True, "AP_RND", "AP_SAT"),
            inv_table_t=FixedType(12, 6, True, "AP_RND", "AP_SAT"),
            accum_t=FixedType(12, 5, True, "AP_RND", "AP_SAT"),
            inv_inp_t=FixedType(12, 5, True, "AP_RND", "AP_SAT"),
        )
    },
}


@pytest.mark.parametrize("name", list(NETWORKS))
def test_emulator_equals_fraction_reference(name):
    net = random_network((6, 9, 7, 4), seed=3, **NETWORKS[name])
    x = edge_inputs(net, 40, seed=5)
    codes = FirmwareEmulator(net).predict_codes(x)
    np.testing.assert_array_equal(codes, ref_network(net, x))


def test_trace_and_predict_are_consistent():
    net = random_network((5, 8, 3), seed=1)
    emu = FirmwareEmulator(net)
    x = edge_inputs(net, 64)
    trace = emu.trace(x)
    assert list(trace) == [layer.name for layer in net.layers]
    np.testing.assert_array_equal(trace["softmax"], emu.predict(x))
    logits = np.ldexp(
        emu.run_codes(emu.quantize_inputs(x), upto=3).astype(float), -net.layers[2].result_t.frac
    )
    np.testing.assert_array_equal(trace["fc2"], logits)


def test_json_round_trip_keeps_everything():
    net = random_network((4, 6, 3), seed=2, sparsity=0.3)
    back = FirmwareNetwork.from_json(net.to_json())
    assert back.to_json() == net.to_json()
    x = edge_inputs(net, 50)
    np.testing.assert_array_equal(
        FirmwareEmulator(back).predict(x), FirmwareEmulator(net).predict(x)
    )
    assert 0.0 < net.layers[0].sparsity < 1.0


def test_reduce_plan_is_hls4ml_balanced_tree():
    # nnet::reduce for N=5 splits 4 + 1, then 2 + 2: ((x0+x1)+(x2+x3))+x4
    assert reduce_plan(5).tolist() == [[5, 0, 1], [6, 2, 3], [7, 5, 6], [8, 7, 4]]
    assert reduce_plan(1).shape == (0, 3)


def test_bad_inputs_are_reported():
    net = random_network((4, 3), seed=0, softmax=None)
    emu = FirmwareEmulator(net)
    with pytest.raises(TrigkitError, match=r"expected shape \(n, 4\)"):
        emu.predict(np.zeros((2, 5)))
    layer = net.layers[0]
    with pytest.raises(TrigkitError, match="off the .* grid"):
        FirmwareLayer(
            "fc",
            "dense",
            4,
            3,
            layer.result_t,
            weight=layer.weight + 1e-3,
            bias=layer.bias,
            weight_t=layer.weight_t,
            bias_t=layer.bias_t,
            accum_t=layer.accum_t,
        )
    with pytest.raises(TrigkitError, match="previous layer gives 3"):
        FirmwareNetwork("n", net.input_t, ("a", "b", "c"), net.layers)
    with pytest.raises(TrigkitError, match="power of two"):
        SigmoidSpec(table_size=100)
    with pytest.raises(TrigkitError, match="power of two"):
        SoftmaxSpec(table_size=1000)


def test_sigmoid_equals_reference():
    net = random_network(
        (5, 6, 3), seed=6, softmax=None, logit_t=FixedType(12, 5, True, "AP_RND", "AP_SAT")
    )
    sig = FirmwareLayer(
        "sig",
        "sigmoid",
        3,
        3,
        FixedType(10, 1, False, "AP_RND", "AP_SAT"),
        sigmoid=SigmoidSpec(256, FixedType(14, 2)),
    )
    net = net.with_(layers=(*net.layers, sig))
    x = edge_inputs(net, 60, seed=2) * 4
    codes = FirmwareEmulator(net).predict_codes(x)
    np.testing.assert_array_equal(codes, ref_network(net, x))
    table = np.ldexp(sigmoid_table(sig).astype(float), -12)
    assert abs(table[128] - 0.5) < 2**-12 and table[0] < 0.001 and table[-1] > 0.999
