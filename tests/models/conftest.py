"""Shared fixtures for the tagger tests: small generated samples, built once per session."""

from __future__ import annotations

import dataclasses

import pytest

from trigkit.events.batch import EventBatch

N_EVENTS = 2000


@pytest.fixture(scope="session")
def hh4b() -> EventBatch:
    from trigkit.events.generator import generate

    return generate("hh4b", N_EVENTS, seed=1)


@pytest.fixture(scope="session")
def qcd() -> EventBatch:
    from trigkit.events.generator import generate

    return generate("qcd", N_EVENTS, seed=9)


@pytest.fixture(scope="session")
def events(hh4b: EventBatch, qcd: EventBatch) -> list[EventBatch]:
    return [hh4b, qcd]


@pytest.fixture(scope="session")
def small(hh4b: EventBatch, qcd: EventBatch) -> list[EventBatch]:
    """A few hundred events of each, for tests that only check plumbing."""
    return [hh4b[:300], qcd[:300]]


def replace_jets(batch: EventBatch, jets: object) -> EventBatch:
    return dataclasses.replace(batch, jets=jets)


@pytest.fixture(scope="session")
def tiny_btag(small):
    """A tiny DeepSets b-tagger trained for one epoch (plumbing tests only)."""
    from trigkit.models.training import train

    return train(
        "btag-deepsets",
        small,
        epochs=1,
        seed=0,
        progress=False,
        overrides={"phi": (16, 16), "rho": (16,)},
    )
