"""--prescale-mode expected: survival-probability weights against hand sums, bit-identity with
the counter mode when no prescale is in play, and convergence of the counters to it."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tests.emulator.conftest import synthetic_batch
from trigkit.emulator.compiled import compile_menu
from trigkit.emulator.pipeline import run_batches
from trigkit.emulator.prescale_expected import path_probabilities, shared_probabilities
from trigkit.emulator.result import SampleEvents, build_result, clopper_pearson
from trigkit.emulator.schema import parse_menu
from trigkit.emulator.stages import apply_stages
from trigkit.report.json_out import result_dict

HAND_MENU = parse_menu("""
name: hand
l1:
  A: {ht: {min: 10}, prescale: 2}
  B: {ht: {min: 10}, prescale: 4}
  Z: {ht: {min: 10}, prescale: 0}
hlt:
  H: {seeds: [A, B], ht: {min: 10}, prescale: 3}
  D: {seeds: [B], ht: {min: 10}}
  U: {seeds: [], ht: {min: 10}, prescale: 2}
""")


def _sample(d, w, name: str = "s") -> SampleEvents:
    n = len(w)
    return SampleEvents(
        name=name,
        process="qcd",
        decisions=d,
        weight=np.asarray(w, np.float64),
        lumi_pb=np.ones(n),
        mhh=np.full(n, 400.0),
        lead_pt=np.full(n, 50.0),
        ht=np.full(n, 100.0),
        n_jets=np.ones(n, np.int64),
    )


def _hand_decisions():
    # columns: A B Z | H D U (HLT raw = raw seed AND filters; U unseeded: filters only)
    raw = np.array(
        [[1, 1, 1, 1, 1, 1], [1, 0, 0, 1, 0, 1], [0, 1, 1, 0, 1, 0], [0, 0, 0, 0, 0, 1]], bool
    )
    return apply_stages(compile_menu(HAND_MENU), raw)


def test_probabilities_by_hand() -> None:
    p = path_probabilities(_hand_decisions())
    assert p["A"].tolist() == [0.5, 0.5, 0, 0] and p["B"].tolist() == [0.25, 0, 0.25, 0]
    assert not p["Z"].any()  # prescale 0: disabled
    assert p["L1 OR"] == pytest.approx([5 / 8, 1 / 2, 1 / 4, 0])
    assert p["H"] == pytest.approx([5 / 8 / 3, 1 / 2 / 3, 0, 0])  # chain 1-(1-1/2)(1-1/4), then 1/3
    assert p["D"] == pytest.approx([1 / 4, 0, 1 / 4, 0])
    assert p["U"] == pytest.approx([5 / 16, 1 / 4, 0, 0])  # L1 OR x 1/2; event 3 never L1-accepted
    assert p["OR"] == pytest.approx([1 - (19 / 24) * (3 / 4) * (11 / 16), 3 / 8, 1 / 4, 0])


def test_rates_pure_shared_overlap_by_hand() -> None:
    w = [1.0, 10.0, 100.0, 1000.0]
    res = build_result(
        "hand", [], [_sample(_hand_decisions(), w)], inst_lumi=1e36, prescale_mode="expected"
    )
    r = res.rates  # 1 Hz per unit weight (lumi_pb 1, L 1e36)
    assert res.prescale_mode == "expected"
    assert r["H"].rate_hz == pytest.approx(5 / 24 + 10 / 6)
    assert r["H"].error_hz == pytest.approx(np.hypot(5 / 24, 10 / 6))
    assert r["D"].rate_hz == pytest.approx(1 / 4 + 100 / 4)
    assert r["U"].rate_hz == pytest.approx(5 / 16 + 10 / 4)
    assert (r["A"].rate_hz, r["B"].rate_hz) == pytest.approx((5.5, 25.25))
    assert r["Z"].rate_hz == 0.0 and np.isfinite(r["Z"].upper_hz)
    assert r["L1 OR"].rate_hz == pytest.approx(5 / 8 + 10 / 2 + 100 / 4)
    assert r["OR"].rate_hz == pytest.approx(909 / 1536 + 10 * 3 / 8 + 100 / 4)
    # pure: H and neither D nor U
    assert r["H"].pure_hz == pytest.approx((5 / 24) * (3 / 4) * (11 / 16) + 10 * (1 / 6) * (3 / 4))
    assert r["D"].pure_hz == pytest.approx((1 / 4) * (19 / 24) * (11 / 16) + 100 / 4)
    # shared: event 0, others D (1/4), U (5/16): E[1/(1+S)] = 143/192; event 1, other U: 7/8
    assert r["H"].shared_hz == pytest.approx(5 / 24 * 143 / 192 + 10 * (1 / 6) * 7 / 8)
    assert sum(r[k].shared_hz for k in "HDU") == pytest.approx(r["OR"].rate_hz)
    h = 5 / 24 + 10 / 6
    assert res.overlap[0].tolist() == pytest.approx(
        [1.0, (5 / 24 / 4) / h, (25 / 384 + 10 / 24) / h]
    )
    assert res.sample_rates["s"]["H"].rate_hz == pytest.approx(h)


def test_shared_probabilities_match_enumeration() -> None:
    rng = np.random.default_rng(3)
    p = rng.random((50, 5))
    p[::7, 2] = 1.0
    p[::5, 0] = 0.0
    got = shared_probabilities(p)
    states = (np.arange(32)[:, None] >> np.arange(5)) & 1  # every outcome of 5 paths
    prob = np.prod(np.where(states[None], p[:, None, :], 1 - p[:, None, :]), axis=2)  # (50, 32)
    n = states.sum(axis=1)
    want = prob @ (states / np.maximum(n, 1)[:, None])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


def test_signal_efficiency_expected_by_hand() -> None:
    d = _hand_decisions()
    res = build_result("hand", [_sample(d, np.ones(4))], [], prescale_mode="expected")
    e = res.signals[0].efficiency["H"]
    assert e.weighted and e.passed == 2 and e.total == 4 and e.n_eff == pytest.approx(4)
    assert e.value == pytest.approx((5 / 24 + 1 / 6) / 4)
    lo, hi = clopper_pearson(4 * e.value, 4, 0.683)
    assert (e.low, e.high) == pytest.approx((float(lo), float(hi)))
    c = res.signals[0].curves["ht"]["H"]
    assert np.nansum(c.sum_w_passed) == pytest.approx(5 / 24 + 1 / 6)
    w = np.array([1.0, 2.0, 3.0, 4.0])
    e = (
        build_result("hand", [_sample(d, w)], [], prescale_mode="expected")
        .signals[0]
        .efficiency["U"]
    )
    assert e.value == pytest.approx((5 / 16 + 2 / 4) / 10) and e.n_eff == pytest.approx(100 / 30)


UNIT_MENU = """
name: unit
l1:
  L1_HT: {ht: {min: 120}}
  L1_J: {jets: {pt: [60]}}
  L1_OFF: {ht: {min: 50}, prescale: 0}
hlt:
  A: {seeds: [L1_HT], ht: {min: 200}}
  B: {seeds: [L1_HT, L1_J], jets: {pt: [70, 40]}}
  C: {seeds: [L1_J], jets: {pt: [50, 50, 40]}}
  Z_OFF: {seeds: [L1_J], ht: {min: 10}, prescale: 0}
  U: {seeds: [], ht: {min: 150}}
"""


@pytest.mark.parametrize("uniform_signal", [False, True])
def test_prescales_one_give_identical_results(uniform_signal: bool) -> None:
    sig = synthetic_batch(1500, 11, signal=True)
    if uniform_signal:
        sig = dataclasses.replace(sig, weight=np.ones(len(sig.weight)))
    bkg = [synthetic_batch(2000, 12), synthetic_batch(1000, 13, lumi_pb=3.0)]
    samples = run_batches(parse_menu(UNIT_MENU), {"sig": sig, "qcd": bkg[0], "qcd2": bkg[1]})
    counter = result_dict(build_result("unit", samples[:1], samples[1:]))
    expected = result_dict(build_result("unit", samples[:1], samples[1:], prescale_mode="expected"))
    assert (counter.pop("prescale_mode"), expected.pop("prescale_mode")) == ("counter", "expected")
    assert counter["rates_hz"]["A"]["rate"] > 0 and any(
        counter["rates_hz"][k]["pure"] for k in "ABCU"
    )
    assert expected == counter  # exactly: every float bit for bit


CONV_MENU = """
name: conv
l1:
  L1_A: {ht: {min: 1}, prescale: 3}
  L1_B: {ht: {min: 1}, prescale: 2}
  L1_C: {ht: {min: 1}}
hlt:
  H: {seeds: [L1_A], ht: {min: 1}, prescale: 2}
  D: {seeds: [L1_B], ht: {min: 1}}
  E: {seeds: [L1_C], ht: {min: 1}, prescale: 4}
"""
UNSEEDED = "  U: {seeds: [], ht: {min: 1}, prescale: 5}\n"


@pytest.mark.parametrize("unseeded", [False, True])
def test_counter_converges_to_expected(unseeded: bool) -> None:
    """100k identical-weight events with independent random raw bits: the counters thin like
    Bernoulli draws, so counter and expected rates agree within 5 sigma, sigma^2 = sum w^2 q (1 - q)
    (q: the expected-mode probability; deterministic counters thin at most that noisily). Fixed
    seed, so the check is deterministic. With the unseeded U (its chain is the L1 OR, correlated
    with every seed) only single triggers are compared: its ORs / pure rates / overlaps are
    where the independent-prescaler approximation is off."""
    rng = np.random.default_rng(20240606)
    n, k = 100_000, 4 if unseeded else 3
    cm = compile_menu(parse_menu(CONV_MENU + (UNSEEDED if unseeded else "")))
    l1_raw = rng.random((n, 3)) < [0.3, 0.2, 0.25]
    filters = rng.random((n, 4)) < [0.6, 0.5, 0.7, 0.4]
    hlt_raw = filters & np.column_stack([l1_raw, np.ones(n, bool)])
    d = apply_stages(cm, np.column_stack([l1_raw, hlt_raw[:, :k]]))
    s = _sample(d, np.full(n, 2.0))
    res = {
        m: build_result("conv", [], [s], inst_lumi=1e36, prescale_mode=m)
        for m in ("counter", "expected")
    }
    p = path_probabilities(d)
    keys = ("H", "D", "E", "L1_A", "L1_B", "L1_C", "L1 OR", *(("U",) if unseeded else ("OR",)))
    for key in keys:
        q = p[key]
        sigma = np.sqrt((4.0 * q * (1 - q)).sum())
        got, want = res["counter"].rates[key].rate_hz, res["expected"].rates[key].rate_hz
        assert abs(got - want) <= 5 * sigma, (key, got, want, sigma)
        assert abs(got - want) <= 0.03 * want, key  # and close in absolute terms
    if unseeded:
        return
    for key in ("H", "D", "E"):  # no L1 seed shared: the independence of the prescalers is exact
        for what in ("pure_hz", "shared_hz"):
            got, want = (
                getattr(res["counter"].rates[key], what),
                getattr(res["expected"].rates[key], what),
            )
            assert abs(got - want) <= 0.03 * want, (key, what, got, want)
    np.testing.assert_allclose(res["counter"].overlap, res["expected"].overlap, atol=0.01)


def test_cli_prescale_mode(tmp_path, capsys) -> None:
    import json

    from trigkit.cli.app import main
    from trigkit.events.parquet_io import write_parquet

    menu = tmp_path / "m.yaml"
    menu.write_text(CONV_MENU.replace("min: 1}", "min: 100}") + UNSEEDED)
    files = {}
    for name, batch in (
        ("hh4b", synthetic_batch(400, 21, signal=True)),
        ("qcd", synthetic_batch(600, 22)),
    ):
        files[name] = tmp_path / f"{name}.parquet"
        write_parquet([batch], files[name])
    data = {}
    for mode in ("counter", "expected"):
        out = tmp_path / mode
        rc = main(
            [
                "emulate",
                "--menu",
                str(menu),
                "--signal",
                str(files["hh4b"]),
                "--background",
                str(files["qcd"]),
                "--out",
                str(out),
                "--no-plots",
                "--prescale-mode",
                mode,
            ]
        )
        assert rc == 0
        data[mode] = json.loads((out / "result.json").read_text())
        assert data[mode]["prescale_mode"] == mode
        assert f"Prescale mode: {mode}" in (out / "result.md").read_text()
    assert data["counter"]["rates_hz"]["L1_C"] == data["expected"]["rates_hz"]["L1_C"]  # prescale 1
    assert data["counter"]["rates_hz"]["H"] != data["expected"]["rates_hz"]["H"]
    capsys.readouterr()
    rc = main(
        [
            "emulate",
            "--menu",
            str(menu),
            "--signal",
            str(files["hh4b"]),
            "--out",
            str(tmp_path / "x"),
            "--prescale-mode",
            "random",
        ]
    )
    assert rc != 0 and "--prescale-mode must be one of counter, expected" in capsys.readouterr().err
