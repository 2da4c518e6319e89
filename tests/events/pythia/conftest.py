"""Small Pythia samples, generated once per session into a temporary cache."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def pythia_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("pythia8mc")
    pytest.importorskip("fastjet")
    return tmp_path_factory.mktemp("pythia-cache")


@pytest.fixture(scope="session")
def hh4b(pythia_cache: Path):
    """150 HH->4b events without pileup (physics of the hard scatter)."""
    from trigkit.events.pythia import PythiaConfig, generate

    return generate(PythiaConfig("hh4b", 150, seed=5, mu=0.0), pythia_cache)


@pytest.fixture(scope="session")
def qcd_pu_config():
    from trigkit.events.pythia import PythiaConfig

    return PythiaConfig("qcd", 120, seed=3, mu=20.0, pool_size=150, pthat_min=30.0)


@pytest.fixture(scope="session")
def qcd_pu(pythia_cache: Path, qcd_pu_config):
    """120 QCD events with <mu> = 20 from a 150-event pool."""
    from trigkit.events.pythia import generate

    return generate(qcd_pu_config, pythia_cache)
