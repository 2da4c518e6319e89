"""Fixed-point QAT: the torch forward pass is bit-exact with the numba firmware emulation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from trigkit.compile.qat import LayerQuant, QATConfig, flatten_mlp, quantize_module
from trigkit.core.errors import TrigkitError
from trigkit.firmware.emulate import FirmwareEmulator
from trigkit.fixedpoint import kernels
from trigkit.fixedpoint import torch_ops as ft
from trigkit.fixedpoint.fixed import FixedType
from trigkit.fixedpoint.random_net import edge_inputs


def _mlp(sizes=(8, 16, 12, 4), seed=0) -> nn.Sequential:
    torch.manual_seed(seed)
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


@pytest.fixture(scope="module")
def calib() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(500, 8)).astype(np.float32)


CONFIGS = {
    "6bit": QATConfig(bits=6),
    "4bit-softmax": QATConfig(bits=4, softmax=True),
    "8bit-narrow-sat-accum": QATConfig(bits=8, accum_bits=10, softmax=True),
    "8bit-wrap-trn": QATConfig(bits=8, accum_bits=12, rounding="AP_TRN", overflow="AP_WRAP"),
    "conv-quantile": QATConfig(bits=5, rounding="AP_RND_CONV", range_quantile=0.99),
}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_qat_forward_is_bit_exact_with_emulator(name, calib):
    qat = quantize_module(_mlp(), CONFIGS[name], calib)
    net = qat.to_network()
    x = edge_inputs(net, 3000, seed=1)
    got = qat.firmware_codes(torch.from_numpy(x)).numpy()
    np.testing.assert_array_equal(got, FirmwareEmulator(net).predict_codes(x))
    # the training forward returns the logits of the same computation
    last_dense = max(i for i, layer in enumerate(net.layers) if layer.kind == "dense")
    trace = FirmwareEmulator(net).trace(x)
    logits = qat(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_array_equal(logits, trace[net.layers[last_dense].name])


def test_torch_codes_equal_numba_codes_for_any_float():
    rng = np.random.default_rng(3)
    x = rng.normal(0, 30, size=(400, 9))
    x[rng.random(x.shape) < 0.1] = np.nan
    x[rng.random(x.shape) < 0.05] = np.inf
    x[rng.random(x.shape) < 0.05] = -np.inf
    x[:, 0] = -np.nan
    x[:, 1] = 1e300
    for t in (
        FixedType(6, 2, True, "AP_RND", "AP_SAT"),
        FixedType(7, 3, False, "AP_TRN", "AP_SAT"),
        FixedType(9, -2, True, "AP_RND_CONV", "AP_WRAP"),
    ):
        np.testing.assert_array_equal(
            ft.quantize_codes(torch.from_numpy(x), t).numpy(), kernels.quantize_rows(x, *t.params())
        )


def test_straight_through_gradient():
    t = FixedType(6, 2, True, "AP_RND", "AP_SAT")
    x = torch.tensor([-3.0, -1.0, 0.3, 1.9, 2.5], dtype=torch.float64, requires_grad=True)
    y = ft.fixed_quantize(x, t)
    assert y.tolist() == [-2.0, -1.0, 0.3125, 1.875, 1.9375]
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 1.0, 1.0, 0.0]  # zero where it saturates


def test_qat_trains_a_toy_problem():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(512, 8)).astype(np.float32)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(np.int64)
    qat = quantize_module(_mlp((8, 16, 2)), QATConfig(bits=6), x)
    opt = torch.optim.Adam(qat.parameters(), lr=0.05)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    for _ in range(30):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(qat(xt), yt)
        loss.backward()
        opt.step()
    acc = (qat(xt).argmax(1) == yt).double().mean().item()
    assert acc > 0.9
    # after training the frozen network still equals the QAT forward
    net = qat.to_network()
    np.testing.assert_array_equal(qat(xt).detach().numpy(), FirmwareEmulator(net).predict(x))


def test_pinned_types_are_used(calib):
    cfg = QATConfig(
        bits=6,
        input_type="ap_fixed<12,4,AP_RND,AP_SAT>",
        layers={"fc1": LayerQuant(weight="ap_fixed<5,1>", accum="ap_fixed<20,8>", reuse_factor=2)},
    )
    net = quantize_module(_mlp(), cfg, calib).to_network()
    fc1 = net.layers[0]
    assert net.input_t.hls() == "ap_fixed<12,4,AP_RND,AP_SAT>"
    assert (fc1.weight_t.hls(), fc1.accum_t.hls(), fc1.reuse_factor) == (
        "ap_fixed<5,1>",
        "ap_fixed<20,8>",
        2,
    )


def test_unsupported_layers_are_named(calib):
    with pytest.raises(TrigkitError, match=r"layer '0' \(Conv1d\)"):
        flatten_mlp(nn.Sequential(nn.Conv1d(1, 2, 3), nn.ReLU()))
    with pytest.raises(TrigkitError, match=r"layer '1' \(Tanh\)"):
        quantize_module(nn.Sequential(nn.Linear(8, 4), nn.Tanh()), QATConfig(), calib)
    with pytest.raises(TrigkitError, match="calibration inputs"):
        quantize_module(_mlp(), QATConfig(), calib[:, :3])


def test_wrapper_module_is_flattened(calib):
    class Wrapper(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = _mlp()

        def forward(self, x):
            return self.net(x)

    assert [type(m).__name__ for m in flatten_mlp(Wrapper())] == [
        "Linear",
        "ReLU",
        "Linear",
        "ReLU",
        "Linear",
    ]


def test_weight_overflow_is_reported_per_layer(calib, caplog):
    from trigkit.compile.qat import weight_overflow

    m = _mlp()
    with torch.no_grad():
        m[0].weight[0, :3] = 5.0  # ap_fixed<5,1> holds [-1, 0.9375]
    cfg = QATConfig(bits=6, layers={"fc1": LayerQuant(weight="ap_fixed<5,1,AP_RND,AP_SAT>")})
    net = quantize_module(m, cfg, calib).to_network()
    over = weight_overflow(net)
    expected = int((m[0].weight.abs() > 0.96875).sum())
    assert list(over) == ["fc1"] and over["fc1"]["weight"] == expected >= 3
    assert "layer 'fc1'" in caplog.text and "saturated" in caplog.text


def test_forward_that_is_not_the_layer_sequence_is_refused(calib):
    class Skip(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = _mlp((8, 8, 8))

        def forward(self, x):
            return self.net(x) + x  # a residual connection hls4ml's Sequential path would lose

    with pytest.raises(TrigkitError, match="not the plain sequence"):
        quantize_module(Skip(), QATConfig(), calib)


def _confident_mlp() -> nn.Sequential:
    """8 -> 16 -> 5 with large logits: x_max - x_i reaches beyond the logits' own range."""
    module = _mlp((8, 16, 5), seed=0)
    with torch.no_grad():
        module[-1].weight.mul_(8.0)
    return module


def test_softmax_types_of_an_own_model(calib):
    """The shared softmax rule (trigkit.fixedpoint.softmax_types) on a QAT model: its logit type
    holds x_max - x_i and its 1/sum type covers n_classes, so the firmware's probabilities are
    closer to float64 than with the logit-only type and hls4ml's default 1/sum type."""
    from trigkit.fixedpoint.network import FirmwareLayer, SoftmaxSpec
    from trigkit.fixedpoint.softmax_types import signed_covering, softmax_sum_t, wrapped_rows

    module = _confident_mlp()
    qat = quantize_module(module, QATConfig(bits=12, softmax=True), calib)
    net = qat.to_network()
    dense, sm = net.layers[-2], net.layers[-1]
    with torch.no_grad():
        z = module(torch.from_numpy(calib)).double().numpy()
    span = float((z.max(axis=1) - z.min(axis=1)).max())
    assert span > np.abs(z).max()  # the differences reach beyond the logits themselves
    assert (
        sm.softmax.inp_norm_t(dense.result_t).max >= span and wrapped_rows(z, dense.result_t) == 0
    )
    assert sm.softmax.inv_inp_t == softmax_sum_t(5)
    # the rule before: logit type from the logits alone, hls4ml's default 1/sum type
    old_t = signed_covering(16, z, 1.0, ("AP_RND", "AP_SAT"))
    assert old_t.integer == dense.result_t.integer - 1 and wrapped_rows(z, old_t) > 0
    old = net.with_(
        layers=net.layers[:-2]
        + (
            FirmwareLayer(**{**dense.__dict__, "result_t": old_t}),
            FirmwareLayer(**{**sm.__dict__, "softmax": SoftmaxSpec()}),
        )
    )
    e = np.exp(z - z.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)  # float64 reference
    err_new = np.abs(FirmwareEmulator(net).predict(calib) - p)
    err_old = np.abs(FirmwareEmulator(old).predict(calib) - p)
    # measured: max 0.014 vs 0.54 (wrapped differences), mean 0.0011 vs 0.021
    assert err_new.max() < 0.03 < 0.3 < err_old.max(), (err_new.max(), err_old.max())
    assert err_new.mean() < err_old.mean() / 5, (err_new.mean(), err_old.mean())
    # and the QAT model computes the same bits as the emulation, edge inputs included
    x = edge_inputs(net, 2000, seed=3)
    got = qat.firmware_codes(torch.from_numpy(x)).numpy()
    np.testing.assert_array_equal(got, FirmwareEmulator(net).predict_codes(x))


def test_pinned_logit_type_that_would_wrap_the_softmax_is_widened(calib, caplog):
    """A pinned logit type (a model QAT-trained without the softmax) gets the integer bits the
    softmax needs on top, its LSB kept: every logit it held is unchanged."""
    from trigkit.fixedpoint.network import FirmwareLayer

    module = _confident_mlp()
    narrow = "ap_fixed<16,3,AP_RND,AP_SAT>"
    cfg = QATConfig(bits=12, softmax=True, layers={"fc2": LayerQuant(result=narrow)})
    with caplog.at_level("WARNING"):
        qat = quantize_module(module, cfg, calib)
    net = qat.to_network()
    wide = net.layers[-2].result_t
    # logits up to 14.85 apart: [-16, 16) for x_max - x_i in ap_ufixed<17,4>; 2 bits more
    assert wide.hls() == "ap_fixed<18,5,AP_RND,AP_SAT>" and wide.lsb == 2.0**-13
    assert f"the pinned logit type {narrow} does not hold x_max - x_i" in caplog.text
    assert "widened to ap_fixed<18,5,AP_RND,AP_SAT>, same LSB" in caplog.text
    pinned_t = FixedType.parse(narrow)
    dense = net.layers[-2]
    as_pinned = net.with_(
        layers=net.layers[:-2] + (FirmwareLayer(**{**dense.__dict__, "result_t": pinned_t}),)
    )
    z_wide = FirmwareEmulator(net).trace(calib)["fc2"]
    z_pinned = FirmwareEmulator(as_pinned).trace(calib)["fc2"]
    held = (z_pinned > pinned_t.min) & (z_pinned < pinned_t.max)
    assert held.mean() > 0.5 and not held.all()
    np.testing.assert_array_equal(z_wide[held], z_pinned[held])
    # a pinned type that already holds the differences is kept, without a warning
    caplog.clear()
    ok = QATConfig(bits=12, softmax=True, layers={"fc2": LayerQuant(result=wide.hls())})
    with caplog.at_level("WARNING"):
        assert quantize_module(module, ok, calib).to_network().layers[-2].result_t == wide
    assert "does not hold" not in caplog.text
