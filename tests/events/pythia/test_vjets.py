"""zjets / wjets: settings, config validation, weights by hand, the Z->bb and sigma rows."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

import awkward as ak
import numpy as np
import pytest

from trigkit.core.errors import TrigkitError
from trigkit.events.pythia.config import ENGINE_VERSION, PythiaConfig

BR_Z_BB_PDG = 0.1512  # PDG 2024: Gamma(bb) / Gamma(Z) = 15.12 +- 0.05 %
BR_Z_MUMU_PDG = 0.03366  # PDG 2024: 3.3662 +- 0.0066 %
PARTONS_ONLY = ["PartonLevel:all = off", "HadronLevel:all = off"]


@pytest.fixture(scope="session")
def zbb_config() -> PythiaConfig:
    return PythiaConfig("zjets", 150, seed=2, mu=0.0, pthat_min=150.0, z_decay="bb")


@pytest.fixture(scope="session")
def zbb(pythia_cache: Path, zbb_config: PythiaConfig):
    """150 Z(->bb)+jet events, pT-hat > 150 GeV, no pileup."""
    from trigkit.events.pythia import generate

    return generate(zbb_config, pythia_cache)


@pytest.fixture(scope="session")
def wjets(pythia_cache: Path):
    """40 W+jet events, pT-hat > 30 GeV, no pileup."""
    from trigkit.events.pythia import generate

    return generate(PythiaConfig("wjets", 40, seed=2, mu=0.0, pthat_min=30.0), pythia_cache)


def _parton_sigma_pb(cfg: PythiaConfig, n: int, seed: int) -> tuple[float, float]:
    """Pythia's sigma of ``cfg``'s hard process from ``n`` hard-process-only events."""
    from trigkit.events.pythia import settings

    pythia = settings.build([*settings.process_settings(cfg), *PARTONS_ONLY], seed, "reference")
    with settings.captured_stdout():
        for _ in range(n):
            pythia.next()
    info = pythia.infoPython()
    return info.sigmaGen() * 1e9, info.sigmaErr() * 1e9


def test_process_settings() -> None:
    from trigkit.events.pythia import settings

    z = settings.process_settings(PythiaConfig("zjets", 1, pthat_min=40.0))
    zbb = settings.process_settings(PythiaConfig("zjets", 1, z_decay="bb"))
    w = settings.process_settings(PythiaConfig("wjets", 1))
    for s in (z, zbb):
        assert {"WeakBosonAndParton:qqbar2gmZg = on", "WeakBosonAndParton:qg2gmZq = on"} <= set(s)
        assert "WeakZ0:gmZmode = 2" in s
    assert "23:onIfMatch = 5 -5" in zbb and not any(x.startswith("23:") for x in z)
    assert {"WeakBosonAndParton:qqbar2Wg = on", "WeakBosonAndParton:qg2Wq = on"} <= set(w)
    assert "PhaseSpace:pTHatMin = 40" in z and "PhaseSpace:bias2SelectionRef = 40" in z
    assert "PhaseSpace:bias2SelectionPow = 3" in w
    qcd = settings.process_settings(PythiaConfig("qcd", 1))
    assert "PhaseSpace:bias2SelectionPow = 4" in qcd  # unchanged: QCD events stay the same


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"process": "zjets", "z_decay": "cc"}, "z_decay (--z-decay) must be one of all, bb"),
        ({"process": "qcd", "z_decay": "bb"}, "needs --process zjets, got process 'qcd'"),
        ({"process": "wjets", "z_decay": "bb"}, "got process 'wjets'"),
        ({"process": "zjets", "pthat_min": 0.0}, "pthat_min (--pthat-min) must be positive"),
    ],
)
def test_config_bad_input(kwargs: dict, match: str) -> None:
    with pytest.raises(TrigkitError, match=match.replace("(", r"\(").replace(")", r"\)")):
        PythiaConfig(n_events=10, **kwargs)


def test_z_decay_is_in_the_cache_key_and_old_keys_stay() -> None:
    base = PythiaConfig("zjets", 10)
    assert PythiaConfig("zjets", 10, z_decay="bb").digest() != base.digest()
    # a config without the new field hashes as before the field existed
    old = {k: v for k, v in asdict(PythiaConfig("qcd", 10)).items() if k != "z_decay"}
    payload = json.dumps({**old, "engine": ENGINE_VERSION}, sort_keys=True)
    assert PythiaConfig("qcd", 10).digest() == hashlib.sha256(payload.encode()).hexdigest()[:16]


def test_zbb_weights_by_hand(zbb, zbb_config: PythiaConfig) -> None:
    """w_i = sigma L (ref / pT-hat_i)^3 / sum_j (ref / pT-hat_j)^3, and sigma = Pythia's own
    (an independent hard-process-only run) = sigma(Z+jet) x BR(Z->bb) (PDG)."""
    pthat = ak.to_numpy(zbb.truth.pthat).astype(np.float64)
    assert pthat.min() >= 150.0 and np.all(zbb.weight > 0)
    sigma_pb = zbb.sum_weights / zbb.lumi_pb
    inv_bias = (150.0 / pthat) ** 3
    # Pythia's weight is the inverse bias up to its own few-1e-4 phase-space corrections
    hand = sigma_pb * zbb.lumi_pb * inv_bias / inv_bias.sum()
    np.testing.assert_allclose(zbb.weight, hand, rtol=1e-3)
    ref_bb, err_bb = _parton_sigma_pb(zbb_config, 4000, 9)
    assert sigma_pb == pytest.approx(ref_bb, rel=0.1)
    ref_all, err_all = _parton_sigma_pb(PythiaConfig("zjets", 1, pthat_min=150.0), 4000, 9)
    assert ref_bb / ref_all == pytest.approx(BR_Z_BB_PDG, rel=0.03)
    # the bias fills high pT: most events above pT-hat = 200 GeV, where Z->bb is one jet
    assert np.mean(pthat > 200.0) > 0.4


def test_wjets_weights_by_hand(wjets) -> None:
    pthat = ak.to_numpy(wjets.truth.pthat).astype(np.float64)
    inv_bias = (30.0 / pthat) ** 3
    np.testing.assert_allclose(wjets.weight / wjets.weight.sum(), inv_bias / inv_bias.sum(), 1e-3)
    ref, _ = _parton_sigma_pb(PythiaConfig("wjets", 1, pthat_min=30.0), 4000, 9)
    assert wjets.sum_weights / wjets.lumi_pb == pytest.approx(ref, rel=0.1)
    assert wjets.process == "wjets" and len(wjets) == 40


def test_zbb_rows_by_hand(zbb, hh4b) -> None:
    from trigkit.report.event_validation import validate

    rows = {r.quantity: r for r in validate([zbb, hh4b]) if r.sample == "zjets"}
    jets = [
        (j["msd"], w)
        for ev, w in zip(zbb.fatjets.tolist(), zbb.weight, strict=True)
        for j in ev
        if j["pt"] > 200.0 and j["n_b_hadrons"] >= 2
    ]
    assert len(jets) >= 30 and len(set(w for _, w in jets)) > 10  # pT-hat-biased weights
    med = rows["Z->bb (pT>200, 2 b hadrons) msd median [GeV]"]
    assert med.value == pytest.approx(_weighted_median(jets))
    assert (med.ref_lo, med.ref_hi) == (76.5, 98.3)  # (105, 135) x 91.19 / 125.2
    assert med.status == "ok" and "PRL 120 (2018) 071802" in med.reference
    hbb = [
        (j["msd"], w)
        for ev, w in zip(hh4b.fatjets.tolist(), hh4b.weight, strict=True)
        for j in ev
        if j["label"] == 1 and j["pt"] > 200
    ]
    ratio = rows["Z->bb (pT>200, 2 b hadrons) msd core width / H->bb's"]
    assert len(hbb) >= 10 and len(set(w for _, w in hbb)) == 1  # hh4b: equal weights
    h = sorted(m for m, _ in hbb)
    c = h[len(h) // 2] if len(h) % 2 else (h[len(h) // 2 - 1] + h[len(h) // 2]) / 2  # np.median
    expected = _weighted_width(jets, _weighted_median(jets)) / _weighted_width(hbb, c)
    assert ratio.value == pytest.approx(expected, rel=1e-9)
    assert ratio.status == "ok"  # the Z peak is as sharp as the H peak, relative to its mass
    alone = {r.quantity: r for r in validate([zbb])}
    assert alone["Z->bb (pT>200, 2 b hadrons) msd core width / H->bb's"].status == (
        "n/a (no H->bb sample)"
    )


def _weighted_median(jets: list[tuple[float, float]]) -> float:
    """The smallest msd whose cumulative weight reaches half, in plain Python."""
    total, cum = sum(w for _, w in jets), 0.0
    for m, w in sorted(jets):
        cum += w
        if cum >= total / 2:
            return m
    raise AssertionError("no jets")


def _weighted_width(jets: list[tuple[float, float]], c: float) -> float:
    """The weighted core width from the centre ``c``, in plain Python."""
    for _ in range(5):
        core = [(m, w) for m, w in jets if abs(m - c) < 0.3 * c]
        c = sum(m * w for m, w in core) / sum(w for _, w in core)
    var = sum(w * (m - c) ** 2 for m, w in core) / sum(w for _, w in core)
    return var**0.5 / c


def _plain_width(x: list[float]) -> float:
    """The core width written out in plain Python (an odd count: the median is one value)."""
    assert len(x) % 2 == 1
    c = sorted(x)[len(x) // 2]
    for _ in range(5):
        core = [m for m in x if abs(m - c) < 0.3 * c]
        c = sum(core) / len(core)
    return (sum((m - c) ** 2 for m in core) / len(core)) ** 0.5 / c


def test_core_width_weighted_is_the_width_of_the_repeated_jets() -> None:
    """Integer weights: a jet of weight k counts as k copies of itself."""
    from trigkit.report.event_validation_vjets import core_width

    rng = np.random.default_rng(5)
    msd = np.concatenate([rng.normal(90.0, 9.0, 60), rng.uniform(20.0, 70.0, 25)])
    w = rng.integers(1, 6, len(msd)).astype(np.float64)
    if int(w.sum()) % 2 == 0:
        w[0] += 1
    copies = [float(m) for m, k in zip(msd, w, strict=True) for _ in range(int(k))]
    assert core_width(msd, w * 0.37) == pytest.approx(_plain_width(copies), rel=1e-9)
    assert core_width(msd, w) != pytest.approx(core_width(msd), rel=1e-3)  # weights matter
    assert core_width(msd[:-2]) == pytest.approx(_plain_width(list(msd[:-2])), rel=1e-9)


def test_inclusive_sigma_branching_ratio_and_rows() -> None:
    pytest.importorskip("pythia8mc")
    from trigkit.events.pythia import xsec
    from trigkit.report import event_validation_vjets as vj

    z = xsec.inclusive_sigma("z_mumu", 4000, 3)
    cfg = [c for c in xsec.INCLUSIVE["z_mumu"] if not c.startswith("23:")]
    from trigkit.events.pythia import settings

    pythia = settings.build([*cfg, *xsec.HARD_ONLY], 3, "all decays")
    with settings.captured_stdout():
        for _ in range(4000):
            pythia.next()
    z_all = pythia.infoPython().sigmaGen() * 1e9
    assert z.pb / z_all == pytest.approx(BR_Z_MUMU_PDG, rel=0.03)
    assert 0 < z.err_pb < 0.02 * z.pb
    rows = {r.quantity: r for r in vj.sigma_rows()}
    (zs, ze), (ws, we) = vj._pythia_sigmas()
    r = rows["sigma(Z->mumu) Pythia LO / CMS"]
    assert r.value == pytest.approx(zs / 2.021)
    assert r.hi - r.value == pytest.approx(r.value * np.hypot(ze / zs, 0.032 / 2.021), rel=0.05)
    assert rows["sigma(W->munu) Pythia LO / CMS"].value == pytest.approx(ws / (11.93 + 8.86))
    wz = rows["sigma(W)/sigma(Z) Pythia LO"]
    assert wz.value == pytest.approx(ws / zs)
    assert (wz.ref_lo, wz.ref_hi) == (round(10.287 * 0.92, 2), round(10.287 * 1.08, 2))
    assert all(r.status == "ok" for r in rows.values()), rows


def test_sigma_rows_without_pythia(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from trigkit.report import event_validation_vjets as vj

    vj._pythia_sigmas.cache_clear()
    monkeypatch.setitem(sys.modules, "pythia8mc", None)
    rows = vj.sigma_rows()
    vj._pythia_sigmas.cache_clear()
    assert len(rows) == 3 and all("pythia8mc not installed" in r.status for r in rows)


@pytest.mark.parametrize(
    "extra, match",
    [
        (["-p", "zjets", "--z-decay", "cc"], "z_decay (--z-decay) must be one of all, bb"),
        (["-p", "qcd", "--z-decay", "bb"], "needs --process zjets, got process 'qcd'"),
    ],
)
def test_cli_bad_z_decay(tmp_path: Path, capsys, extra: list[str], match: str) -> None:
    from trigkit.cli.app import main

    out = tmp_path / "x.parquet"
    argv = ["events", "generate", "-n", "10", "--cache-dir", str(tmp_path / "c"), *extra]
    assert main([*argv, "--out", str(out)]) == 1
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("error:")]
    assert len(err) == 1 and match in err[0], err
    assert not out.exists() and not (tmp_path / "c").exists()


def test_cli_zjets_bb_hits_the_fixture_cache(zbb, pythia_cache: Path, tmp_path: Path, capsys):
    from trigkit.cli.app import main
    from trigkit.events.parquet_io import read_parquet

    argv = ["events", "generate", "-p", "zjets", "--z-decay", "bb", "-n", "150", "--seed", "2"]
    argv += ["--mu", "0", "--pthat-min", "150", "--cache-dir", str(pythia_cache)]
    assert main([*argv, "--out", str(tmp_path / "z.parquet")]) == 0
    assert "cache hit" in capsys.readouterr().err
    b = read_parquet(tmp_path / "z.parquet")
    assert b.process == "zjets" and b.sum_weights == pytest.approx(zbb.sum_weights, rel=1e-6)


def test_cli_validate_shows_the_zbb_and_sigma_rows(zbb, tmp_path: Path, capsys) -> None:
    from trigkit.cli.app import main
    from trigkit.events.parquet_io import write_parquet

    write_parquet([zbb], tmp_path / "z.parquet")
    argv = ["events", "validate", str(tmp_path / "z.parquet"), "--json", str(tmp_path / "v.json")]
    assert main([*argv, "--plots", str(tmp_path / "plots")]) == 0
    out = capsys.readouterr().out
    assert "Z->bb (pT>200, 2 b hadrons) msd median" in out and "arXiv:2503.09742" in out
    rows = {r["quantity"]: r for r in json.loads((tmp_path / "v.json").read_text())}
    assert rows["sigma(W)/sigma(Z) Pythia LO"]["sample"] == "pythia inclusive"
    assert (tmp_path / "plots" / "fatjet_msd.png").stat().st_size > 1000
