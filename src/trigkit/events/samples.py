"""One sample from either engine, behind one call: what the demo and the benchmarks generate.

``pythia`` (the default) is :mod:`trigkit.events.pythia`: showers, hadronisation, pileup and the
detector response; its samples are cached by config hash, so a rerun reads the file. ``fast`` is
the numba toy generator (:mod:`trigkit.events.generator`), for unit tests and quick looks only:
everything made from it must say so (:data:`TOY_LABEL`).

>>> s = make_sample(SampleSpec("qcd", 300, seed=2, pool_size=200), out=Path("qcd.parquet"))
>>> s.path, s.cache_hit, s.label
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from trigkit.core.errors import TrigkitError

ENGINES = ("pythia", "fast")
TOY_LABEL = "toy generator, numbers not physical"
PYTHIA_LABEL = "Pythia 8 + pileup + detector response"

# stage ("pool" or "events"), events done since the last call
Progress = Callable[[str, int], None]


@dataclass(frozen=True)
class SampleSpec:
    """One sample: process, size, seed, engine and the Pythia knobs (ignored by ``fast``)."""

    process: str
    n_events: int
    seed: int
    engine: str = "pythia"
    mu: float = 60.0
    pool_size: int = 2000
    lumi_pb: float = 1000.0
    pthat_min: float = 15.0  # pythia qcd: pT-hat threshold, GeV
    m_x: float = 1000.0  # pythia xhh: resonance mass, GeV

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise TrigkitError(f"unknown engine '{self.engine}'; valid: {', '.join(ENGINES)}")

    @property
    def label(self) -> str:
        return engine_label(self.engine)

    def pythia_config(self):  # noqa: ANN201 - PythiaConfig, imported lazily
        from trigkit.events.pythia.config import PythiaConfig

        return PythiaConfig(
            process=self.process,
            n_events=self.n_events,
            seed=self.seed,
            mu=self.mu,
            lumi_pb=self.lumi_pb,
            pool_size=self.pool_size,
            pthat_min=self.pthat_min,
            m_x=self.m_x,
        )


@dataclass(frozen=True)
class Sample:
    """A sample on disk: its spec, its Parquet file and whether Pythia's cache had it."""

    spec: SampleSpec
    path: Path
    cache_hit: bool

    @property
    def label(self) -> str:
        return self.spec.label


def engine_label(engine: str) -> str:
    """The words every report made from ``engine`` carries."""
    return TOY_LABEL if engine == "fast" else PYTHIA_LABEL


def make_sample(
    spec: SampleSpec,
    out: Path | None = None,
    progress: Progress | None = None,
    workers: int = 1,
    cache: Path | None = None,
) -> Sample:
    """Generate (or, for Pythia, reuse from the cache) one sample.

    ``out``: where the Parquet file goes (Pythia: a copy of the cached file; ``None`` keeps the
    cache path). The fast engine always needs ``out``.
    """
    tick = progress or (lambda _stage, _n: None)
    if spec.engine == "fast":
        if out is None:
            raise TrigkitError("make_sample: the fast engine needs an output path (out=)")
        return Sample(spec, _fast(spec, out, tick), cache_hit=False)
    from trigkit.events.pythia.cache import cached_sample, copy_to
    from trigkit.events.pythia.libs import fastjet, pythia8

    pythia8(), fastjet()  # a missing extra fails here, naming it, before any work
    path, hit = cached_sample(spec.pythia_config(), cache, tick, workers)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        copy_to(path, out)
        path = out
    return Sample(spec, path, cache_hit=hit)


def _fast(spec: SampleSpec, out: Path, tick: Progress) -> Path:
    from trigkit.events.generator import iter_generate
    from trigkit.events.parquet_io import write_parquet

    out.parent.mkdir(parents=True, exist_ok=True)
    batches = iter_generate(spec.process, spec.n_events, spec.seed, lumi_pb=spec.lumi_pb)
    write_parquet(batches, out, progress=lambda n: tick("events", n))
    return out
