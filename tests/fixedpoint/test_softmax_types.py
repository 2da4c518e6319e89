"""The softmax type rule (shared by trigkit's own QAT models and imported ones), by hand."""

from __future__ import annotations

import numpy as np

from trigkit.fixedpoint.fixed import FixedType
from trigkit.fixedpoint.network import SoftmaxSpec
from trigkit.fixedpoint.softmax_types import (
    softmax_logit_t,
    softmax_span,
    softmax_spec,
    softmax_sum_t,
    widened_logit_t,
    wrapped_rows,
)

MODES = ("AP_RND", "AP_SAT")


def test_span_holds_the_logits_and_their_differences() -> None:
    z = np.array([[3.0, -3.0, 1.0], [0.5, 0.25, 0.0]])
    np.testing.assert_array_equal(
        softmax_span(z), [[3, -3, 1, 0, 6, 2], [0.5, 0.25, 0, 0, 0.25, 0.5]]
    )


def test_logit_type_by_hand() -> None:
    z = np.array([[3.0, -3.0], [1.0, 0.0]])
    # stable: x_max - x_i reaches 6, so [-8, 8); its inp_norm_t ap_ufixed<15,3> holds [0, 8)
    t = softmax_logit_t(16, z, 1.0, MODES)
    assert t.hls() == "ap_fixed<16,4,AP_RND,AP_SAT>"
    assert SoftmaxSpec().inp_norm_t(t).max > 6.0
    # the logits alone need only [-4, 4): there 6 wraps in ap_ufixed<15,2> ([0, 4))
    narrow = softmax_logit_t(16, z, 1.0, MODES, implementation="latency")
    assert narrow.hls() == "ap_fixed<16,3,AP_RND,AP_SAT>"
    assert wrapped_rows(z, narrow) == 1 and wrapped_rows(z, t) == 0


def test_sum_type_and_spec_by_hand() -> None:
    assert softmax_sum_t(2).hls() == "ap_fixed<18,3,AP_RND,AP_SAT>"  # [-4, 4) holds 2
    assert softmax_sum_t(5).hls() == "ap_fixed<18,4,AP_RND,AP_SAT>"  # [-8, 8) holds 5
    assert softmax_sum_t(8).hls() == "ap_fixed<18,5,AP_RND,AP_SAT>"  # 8 needs [-16, 16)
    spec = softmax_spec(5, table_size=512)
    assert (spec.table_size, spec.inv_inp_t) == (512, softmax_sum_t(5))
    default = FixedType(18, 8, True, "AP_RND", "AP_SAT")  # hls4ml's other table types stay
    assert spec.exp_table_t == spec.inv_table_t == spec.accum_t == default


def test_widened_pinned_type_by_hand() -> None:
    z = np.array([[3.0, -3.0], [1.0, 0.0]])
    pinned = FixedType(16, 3, True, *MODES)  # [-4, 4): 6 wraps in its ap_ufixed<15,2>
    wide = widened_logit_t(pinned, z, 1.0)
    assert wide.hls() == "ap_fixed<17,4,AP_RND,AP_SAT>" and wide.lsb == pinned.lsb
    assert wrapped_rows(z, wide) == 0
    assert widened_logit_t(wide, z, 1.0) is wide  # already holds them: kept as it is
