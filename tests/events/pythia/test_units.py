"""Pythia-engine building blocks against hand counts and closed forms (no Pythia needed)."""

from __future__ import annotations

import numpy as np
import pytest

from trigkit.core.errors import TrigkitError
from trigkit.events.pythia import hh_lhef
from trigkit.events.pythia.config import PythiaConfig
from trigkit.events.pythia.jetbuild import hadron_label, parton_label, signed_ip
from trigkit.events.pythia.record import heavy_flavour
from trigkit.events.pythia.tracking import K_X, K_Y, K_Z0, N_K, perigee


@pytest.mark.parametrize(
    "pid, flavour",
    [
        (511, 5),
        (-521, 5),
        (531, 5),
        (5122, 5),
        (-5232, 5),
        (541, 5),
        (10511, 5),
        (421, 4),
        (-411, 4),
        (4122, 4),
        (443, 4),
        (211, 0),
        (2212, 0),
        (3122, 0),
        (22, 0),
        (5, 0),
    ],
)
def test_heavy_flavour_of_pdg_ids(pid: int, flavour: int) -> None:
    assert heavy_flavour(pid) == flavour


def test_hadron_label_hand_count() -> None:
    # jet at (eta, phi) = (0, 0); hadrons: pt, eta, phi, flavour
    had = np.array(
        [
            [20.0, 0.20, 0.0, 4],  # c at dR 0.20: inside
            [20.0, 0.0, 0.35, 5],  # b at dR 0.35: outside 0.3
            [3.0, 0.05, 0.0, 5],  # b inside but below 5 GeV
        ]
    )
    assert hadron_label(0.0, 0.0, had, 0, 3) == 4
    assert hadron_label(0.0, 0.0, had, 1, 3) == 0
    had[1, 2] = 0.25  # b now at dR 0.25: b wins over c
    assert hadron_label(0.0, 0.0, had, 0, 3) == 5
    assert hadron_label(0.0, 3.1, had, 0, 3) == 0  # phi wraps: 3.1 is far from 0


def test_parton_label_takes_hardest_inside() -> None:
    par = np.array([[50.0, 0.1, 0.0, 21], [80.0, 0.0, 0.2, 5], [200.0, 1.0, 0.0, 1]])
    assert parton_label(0.0, 0.0, par, 0, 3) == 5
    assert parton_label(2.0, 0.0, par, 0, 3) == 0


def test_perigee_matches_sagitta() -> None:
    # 10 GeV track produced 5 mm out along its own direction: closest approach at the sagitta
    pt = 10.0
    radius_mm = pt / (0.3 * 3.8) * 1000.0
    fx, fy, arc, _ = perigee(pt, 0.0, 5.0, 0.0, 1.0)
    assert np.hypot(fx, fy) == pytest.approx(25.0 / (2 * radius_mm), rel=1e-3)
    assert arc == pytest.approx(-5.0, rel=1e-6)
    # produced at the beam line: d0 = 0 for either charge
    for q in (1.0, -1.0):
        fx, fy, arc, _ = perigee(3.0, 4.0, 0.0, 0.0, q)
        assert np.hypot(fx, fy) < 1e-9 and abs(arc) < 1e-9


def test_lifetime_sign_follows_jet_axis() -> None:
    trk = np.zeros((1, N_K))
    trk[0, K_X], trk[0, K_Y], trk[0, K_Z0] = 0.3, 0.4, -0.2
    d0, z0 = signed_ip(trk, 0, 1.0, 0.9)  # jet towards +x,+y, forward in z
    assert d0 == pytest.approx(0.5) and z0 == pytest.approx(-0.2)
    d0, z0 = signed_ip(trk, 0, -1.0, 0.9 - np.pi)  # opposite jet
    assert d0 == pytest.approx(-0.5) and z0 == pytest.approx(0.2)


def test_mhh_sampler_threshold_and_toy_shape() -> None:
    from trigkit.events.generator import hh4b as toy

    assert (hh_lhef.MHH_SHAPE, hh_lhef.MHH_SCALE) == (toy.MHH_SHAPE, toy.MHH_SCALE)
    rng = np.random.default_rng(1)
    m = hh_lhef.sample_mhh(rng, 20_000, 1.0)
    assert m.min() >= 250.4
    hist, edges = np.histogram(m, bins=np.arange(250, 1000, 25))
    peak = edges[np.argmax(hist)] + 12.5
    assert 340 < peak < 450  # Gamma(2.6, 90) mode: 250.4 + 1.6 x 90 = 394
    # kappa_lambda = 0 removes the triangle: no SM cancellation at threshold -> softer spectrum
    m0 = hh_lhef.sample_mhh(rng, 20_000, 0.0)
    assert m0.min() >= 250.4 and np.median(m0) < np.median(m)


def test_kappa_lambda_cross_section() -> None:
    assert hh_lhef.sigma_ratio(1.0) == pytest.approx(1.0, abs=1e-4)
    # HH group: sigma(kl=0) ~ 2.27 x SM, minimum near kl = 2.28 (-b / 2a)
    assert hh_lhef.sigma_ratio(0.0) == pytest.approx(2.268, abs=0.01)
    grid = np.linspace(0, 5, 501)
    assert grid[np.argmin([hh_lhef.sigma_ratio(k) for k in grid])] == pytest.approx(2.28, abs=0.02)
    assert hh_lhef.sigma_4b_pb(1.0) == pytest.approx(34.43e-3 * 0.5824**2)


def test_lhef_momenta_conserve_energy_and_mass(tmp_path) -> None:
    rng = np.random.default_rng(2)
    mhh = hh_lhef.sample_mhh(rng, 50, 1.0)
    p = hh_lhef.hh_momenta(rng, mhh, 13600.0)
    np.testing.assert_allclose(p[:, :2].sum(1), p[:, 2:].sum(1), atol=1e-6)
    m_h = np.sqrt(p[:, 2:, 3] ** 2 - (p[:, 2:, :3] ** 2).sum(-1))
    np.testing.assert_allclose(m_h, 125.2, rtol=1e-6)
    path = tmp_path / "hh.lhe"
    hh_lhef.write_lhef(path, 3, 1, 1.0, 13600.0)
    assert path.read_text().count("<event>") == 3 and list(tmp_path.iterdir()) == [path]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"process": "wprime", "n_events": 10}, "unknown process 'wprime'"),
        ({"process": "qcd", "n_events": -5}, "n_events"),
        ({"process": "qcd", "n_events": 10, "mu": -1.0}, "mu"),
        ({"process": "qcd", "n_events": 10, "settings": ("HardQCD:all",)}, "Key = value"),
        ({"process": "xhh", "n_events": 10, "m_x": 200.0}, "m_x"),
    ],
)
def test_config_bad_input(kwargs: dict, match: str) -> None:
    with pytest.raises(TrigkitError, match=match):
        PythiaConfig(**kwargs)


def test_config_digest_changes_with_every_field() -> None:
    base = PythiaConfig("qcd", 10)
    others = [
        PythiaConfig("qcd", 11),
        PythiaConfig("qcd", 10, seed=2),
        PythiaConfig("qcd", 10, mu=0),
    ]
    assert len({base.digest(), *(c.digest() for c in others)}) == 4
    assert base.digest() == PythiaConfig("qcd", 10).digest()


def _installed(monkeypatch: pytest.MonkeyPatch, **versions: str | None) -> None:
    """Make ``importlib.metadata`` report ``versions`` (None: not installed; the others at
    trigkit's pins) to libs."""
    from importlib import metadata

    from trigkit.events.pythia import libs

    def version(name: str) -> str:
        found = versions.get(name, libs.PINNED[name])
        if found is None:
            raise metadata.PackageNotFoundError(name)
        return found

    monkeypatch.setattr(libs.metadata, "version", version)


def test_pins_are_the_physics_extra() -> None:
    from importlib import metadata

    from trigkit.events.pythia.libs import PINNED

    marker = '; extra == "physics"'
    extra = [r.removesuffix(marker) for r in metadata.requires("trigkit") if r.endswith(marker)]
    assert sorted(extra) == sorted(f"{name}=={v}" for name, v in PINNED.items())


def test_cache_keys_follow_unpinned_library_versions(monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = PythiaConfig("qcd", 10)
    _installed(monkeypatch)
    pinned = cfg.digest(), cfg.pool_key()
    _installed(monkeypatch, pythia8mc=None, fastjet=None)  # nothing installed makes nothing
    assert (cfg.digest(), cfg.pool_key()) == pinned
    _installed(monkeypatch, pythia8mc="8.318.0")
    other_pythia = cfg.digest(), cfg.pool_key()
    assert other_pythia[0] != pinned[0] and other_pythia[1] != pinned[1]
    _installed(monkeypatch, fastjet="3.5.3.0")  # the pool has no jets
    assert cfg.digest() not in (pinned[0], other_pythia[0]) and cfg.pool_key() == pinned[1]


def test_missing_pythia_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from trigkit.core.errors import MissingDependency
    from trigkit.events.pythia.libs import pythia8

    monkeypatch.setitem(sys.modules, "pythia8mc", None)
    with pytest.raises(MissingDependency, match=r"trigkit\[physics\]"):
        pythia8()


def test_a_new_pythia_starts_from_the_defaults_whatever_ran_before() -> None:
    """Each instance copies a pristine instance's settings and particle data: what one reads
    (a setting, a particle's mass) reaches neither the template nor the next instance."""
    pytest.importorskip("pythia8mc")
    from trigkit.events.pythia import settings

    changed = settings._read(["HardQCD:all = on", "23:m0 = 100.0"], 3, "test")
    assert changed.settings.flag("HardQCD:all") and changed.particleData.m0(23) == 100.0
    for pythia in (settings._read([], 3, "test"), settings._pristine()):
        assert not pythia.settings.flag("HardQCD:all")
        assert pythia.particleData.m0(23) == pytest.approx(91.188, abs=0.01)
