"""Pythia 8 engine: physical events with showers, hadronisation, MPI, pileup and a detector.

>>> from trigkit.events.pythia import PythiaConfig, generate
>>> batch = generate(PythiaConfig("qcd", 500, seed=3, mu=60))   # EventBatch, cached by config

Modules, one job each: ``config`` (the validated sample definition and its cache key),
``settings`` (Pythia settings per process; Pythia's refusals as TrigkitError), ``hh_lhef``
(our gg->HH hard process as Les Houches events), ``record`` (Pythia event -> numpy, particle
by particle), ``columns`` (many events' records -> the same arrays in bulk), ``pileup``
(cached minimum-bias pool and its overlay), ``pool_response`` (each pool event's detector
response, computed once; ``far`` the arrays that bring it to the far vertices),
``tracking`` / ``calo`` / ``jetbuild`` (numba detector response; ``trackcols`` the
track-table columns, ``material`` conversions and nuclear interactions, ``merging`` merged
tracks, ``shapes`` D2), ``clustering`` (fastjet), ``l1`` (towers, L1 jets, HT and MET),
``detector`` (one chunk -> awkward jets), ``block`` (one seed block: its own Pythia and
seeds), ``engine`` (blocks on 1..N worker processes, weights), ``cache``.
Needs the ``physics`` extra (pythia8mc, fastjet), imported on first use.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from trigkit.events.pythia.config import PROCESSES, PythiaConfig

if TYPE_CHECKING:
    from trigkit.events.batch import EventBatch
    from trigkit.events.pythia.engine import Progress


def generate(
    cfg: PythiaConfig, root: Path | None = None, progress: Progress | None = None
) -> EventBatch:
    """The sample as an EventBatch, generated or read from the cache (see ``cache``)."""
    from trigkit.events.pythia.cache import generate as _generate

    return _generate(cfg, root, progress)


__all__ = ["PROCESSES", "PythiaConfig", "generate"]
