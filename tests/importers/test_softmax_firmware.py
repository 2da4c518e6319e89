"""Types of an imported softmax tagger's firmware: the logits and 1/sum cover what hls4ml's
stable softmax computes, so the firmware's probabilities stay close to the float model's.

The README TorchScript example (the 16-64-32-32-5 MLP below) once needed ``compare --atol 0.1``:
its logits got a type covering the logits only, and the stable softmax holds ``x_max - x_i``
(up to twice that) in the same range, saturating it; and 1/sum was looked up in 0.25 steps.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tests.importers import writers
from trigkit.firmware.emulate import FirmwareEmulator
from trigkit.importers import import_model
from trigkit.importers.firmware import softmax_sum_t, to_firmware_network


@pytest.fixture(scope="module")
def tagger(tmp_path_factory: pytest.TempPathFactory) -> tuple[torch.nn.Module, Path]:
    module = writers.mlp((16, 64, 32, 32, 5), softmax=True, seed=0)
    path = tmp_path_factory.mktemp("sm") / "tagger.pt"
    return module, writers.to_torchscript(module, path)


def test_logit_type_covers_the_softmax_differences(tagger) -> None:
    module, path = tagger
    x = np.random.default_rng(1).normal(size=(1000, 16))
    net = to_firmware_network(import_model(path, {"input": (16,)}), x)
    logit_t, sm = net.layers[-2].result_t, net.layers[-1]
    with torch.no_grad():  # float logits: the module without its Softmax
        z = module[:-1](torch.from_numpy(x).float()).double().numpy()
    span = float((z.max(axis=1, keepdims=True) - z).max())
    assert span > float(np.abs(z).max())  # the differences reach beyond the logits themselves
    assert sm.softmax.inp_norm_t(logit_t).max >= span  # x_max - x_i does not saturate
    # 1/sum: the sum of exp(x_i - x_max) lies in [1, 5]; its type covers 5 in 1/64 steps
    inv_t = sm.softmax.inv_inp_t
    assert inv_t == softmax_sum_t(5) and inv_t.max >= 5 > inv_t.max / 2
    assert 2.0 ** (inv_t.integer - 10) <= 1 / 64

    y = FirmwareEmulator(net).predict(x)
    with torch.no_grad():
        p = module(torch.from_numpy(x).float()).double().numpy()
    err = float(np.abs(y - p).max())
    assert err < 0.005, err  # was 0.0505 (saturated differences, coarse 1/sum)
    assert np.mean(np.argmax(y, axis=1) == np.argmax(p, axis=1)) > 0.97


def test_softmax_sum_type_by_hand() -> None:
    assert softmax_sum_t(2).hls() == "ap_fixed<18,3,AP_RND,AP_SAT>"  # [-4, 4) holds 2
    assert softmax_sum_t(5).hls() == "ap_fixed<18,4,AP_RND,AP_SAT>"  # [-8, 8) holds 5
    assert softmax_sum_t(8).hls() == "ap_fixed<18,5,AP_RND,AP_SAT>"  # 8 needs [-16, 16)
