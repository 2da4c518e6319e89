"""Small generated samples shared by the generator tests (built once per session)."""

from __future__ import annotations

from functools import cache

from trigkit.events.batch import EventBatch
from trigkit.events.generator import generate


@cache
def sample(process: str, n: int = 4000, seed: int = 11) -> EventBatch:
    return generate(process, n, seed)
