"""The hls4ml adapter: explicit precisions, faithful conversion, clear errors (no C++ build)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from trigkit.core.errors import TrigkitError
from trigkit.firmware import hls4ml as hls
from trigkit.fixedpoint.fixed import FixedType
from trigkit.fixedpoint.network import FirmwareLayer, FirmwareNetwork, SoftmaxSpec
from trigkit.fixedpoint.random_net import random_network


@pytest.fixture(scope="module")
def network() -> FirmwareNetwork:
    return random_network((6, 10, 4), seed=4, sparsity=0.2)


def test_config_has_every_precision_explicit(network):
    cfg = hls.to_hls4ml_config(network)
    assert "auto" not in json.dumps(cfg)
    layers = cfg["LayerName"]
    assert layers[hls.INPUT_LAYER]["Precision"] == {"result": network.input_t.hls()}
    for layer in network.layers:
        prec = layers[layer.name]["Precision"]
        assert prec["result"] == layer.result_t.hls()
        if layer.kind == "dense":
            assert (prec["weight"], prec["bias"], prec["accum"]) == (
                layer.weight_t.hls(),
                layer.bias_t.hls(),
                layer.accum_t.hls(),
            )
            assert layers[layer.name]["ReuseFactor"] == layer.reuse_factor
    sm = layers["softmax"]
    assert sm["Implementation"] == "stable" and sm["TableSize"] == 1024
    assert {"exp_table", "inv_table", "inv_inp", "accum"} <= set(sm["Precision"])


def test_softmax_table_sizes_follow_hls4ml_rules():
    spec = SoftmaxSpec(table_size=1024, inv_table_t=FixedType(8, 4))
    # table shrinks to 2**min(input width, inv table width); stable exp table to 2**(W_in - 1)
    assert spec.table_sizes(FixedType(16, 6)) == (1024 // 4, 256)
    assert spec.table_sizes(FixedType(6, 3)) == (32, 64)


def test_convert_keeps_every_type(network, tmp_path):
    pytest.importorskip("hls4ml")
    hls_model = hls.convert(network, tmp_path / "prj")
    types = hls.hls_layer_types(hls_model)
    assert types["fc1"]["accum_t"] == network.layers[0].accum_t.hls()
    assert types["softmax"]["inv_table_t"] == network.layers[-1].softmax.inv_table_t.hls()
    assert (tmp_path / "prj" / "firmware" / "parameters.h").is_file()
    # the same model checked against a spec with another accumulator is refused, naming the layer
    changed = network.layers[0].__dict__ | {"accum_t": FixedType(30, 12)}
    other = network.with_(layers=(FirmwareLayer(**changed), *network.layers[1:]))
    with pytest.raises(TrigkitError, match="layer 'fc1': hls4ml uses accum_t"):
        hls.check_conversion(other, hls_model)


def test_convert_keeps_non_default_softmax_table_types(tmp_path):
    """hls4ml ignores table types given under Precision; the adapter must still get them in."""
    pytest.importorskip("hls4ml")
    spec = SoftmaxSpec(
        table_size=256,
        exp_table_t=FixedType(16, 4, True, "AP_RND", "AP_SAT"),
        inv_table_t=FixedType(18, 6, True, "AP_RND", "AP_SAT"),
        inv_inp_t=FixedType(18, 4, True, "AP_RND", "AP_SAT"),
    )
    net = random_network((6, 10, 4), seed=4, softmax=spec)
    types = hls.hls_layer_types(hls.convert(net, tmp_path / "prj"))["softmax"]
    for key in ("exp_table_t", "inv_table_t", "inv_inp_t"):
        assert types[key] == getattr(spec, key).hls(), key
    assert types["inv_inp_t"] == "ap_fixed<18,4,AP_RND,AP_SAT>"  # hls4ml's default: <18,8>


def test_invalid_reuse_factor_is_refused(tmp_path):
    pytest.importorskip("hls4ml")
    net = random_network(
        (6, 10, 4),
        seed=4,
        softmax=None,
        strategy="Resource",
        accum_t=FixedType(24, 10, True, "AP_TRN", "AP_WRAP"),
    )
    bad = net.with_(
        layers=(FirmwareLayer(**(net.layers[0].__dict__ | {"reuse_factor": 7})), *net.layers[1:])
    )
    with pytest.raises(TrigkitError, match="layer 'fc1': reuse factor 7 is not valid"):
        hls.convert(bad, tmp_path / "prj")


def test_layers_hls4ml_cannot_take_are_refused(tmp_path):
    net = random_network((4, 3), seed=0, softmax=None)
    lin = net.with_(layers=(*net.layers, FirmwareLayer("cast1", "linear", 3, 3, FixedType(8, 3))))
    with pytest.raises(TrigkitError, match="layer 'cast1' \\(linear\\)"):
        hls.convert(lin, tmp_path / "prj")
    wide = FixedType(30, 4)
    layer = net.layers[0]
    w = np.full_like(layer.weight, 1.0 + 2.0**-25)
    wide_net = net.with_(
        layers=(FirmwareLayer(**(layer.__dict__ | {"weight": w, "weight_t": wide})),)
    )
    with pytest.raises(TrigkitError, match="layer 'fc1'.*float32"):
        hls.convert(wide_net, tmp_path / "prj2")


def test_csim_needs_gxx(monkeypatch, network):
    monkeypatch.setattr(hls.shutil, "which", lambda name: None)
    with pytest.raises(TrigkitError, match="g\\+\\+ not found"):
        hls.build_csim(object())
