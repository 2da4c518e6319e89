"""`RtlOptions`: the RTL flow's options, validated once, errors naming field and flag."""

from __future__ import annotations

import pytest

from trigkit.cli.rtl_options import build_rtl_options
from trigkit.core.errors import TrigkitError
from trigkit.firmware.rtl.options import DEFAULT_CUTOFFS_NS, RtlOptions


def test_rebalance_options_need_the_carry_model() -> None:
    from trigkit.compile.targets.fpga import FpgaCompileConfig

    carry = RtlOptions(rebalance=2, delay_model="carry")
    assert FpgaCompileConfig(rtl_options=carry).rtl_options.rebalance == 2
    flags = r"rebalance \(--rtl-rebalance\).*--rtl-delay-model carry"
    with pytest.raises(TrigkitError, match=flags):
        RtlOptions(rebalance=2)
    with pytest.raises(TrigkitError, match=r"^RtlOptions: rebalance .*--rtl-delay-model carry"):
        FpgaCompileConfig(rtl_options={"rebalance": 2})
    assert RtlOptions(rebalance=2, delay_model="carry", min_slack_ns=0.1).min_slack_ns == 0.1
    with pytest.raises(TrigkitError, match=r"min_slack_ns \(--rtl-min-slack\).*--rtl-rebalance N"):
        RtlOptions(min_slack_ns=0.1)


def test_rtl_options_refuse_bad_values() -> None:
    assert RtlOptions().cutoffs == (5.0,) and not RtlOptions().searches
    assert RtlOptions(cutoffs=(3.0, 4.0)).searches
    assert RtlOptions(timing_model=" UltraScale+ ").timing_model == "ultrascale+"
    with pytest.raises(TrigkitError, match=r"RtlOptions\.timing_model: .*valid: auto, 7series"):
        RtlOptions(timing_model="versal")
    with pytest.raises(TrigkitError, match=r"RtlOptions\.cutoffs: .*positive"):
        RtlOptions(cutoffs=(3.0, 0.0))
    with pytest.raises(TrigkitError, match=r"RtlOptions\.delay_model: .*'da4ml' or 'carry'"):
        RtlOptions(delay_model="adders")
    with pytest.raises(TrigkitError, match=r"RtlOptions\.extra: Extra inputs"):
        RtlOptions(extra=1)


def test_max_fanout_one_is_refused() -> None:
    assert RtlOptions(max_fanout=4).max_fanout == 4 and RtlOptions(max_fanout=0).max_fanout == 0
    with pytest.raises(TrigkitError, match=r"max_fanout \(--rtl-max-fanout\) 1: give 0"):
        RtlOptions(max_fanout=1)


def test_flags_build_the_same_options() -> None:
    built = build_rtl_options("auto", "carry", "auto", 2, 4, 0.1)
    assert built == RtlOptions(
        cutoffs=DEFAULT_CUTOFFS_NS, delay_model="carry", rebalance=2, max_fanout=4, min_slack_ns=0.1
    )
    assert build_rtl_options("3,4", "da4ml", "7series", 0, 0, 0.0).cutoffs == (3.0, 4.0)
    with pytest.raises(TrigkitError, match="--rtl-cutoff 'fast'"):
        build_rtl_options("fast", "da4ml", "auto", 0, 0, 0.0)
    with pytest.raises(TrigkitError, match="--rtl-delay-model carry"):
        build_rtl_options("5", "da4ml", "auto", 1, 0, 0.0)
