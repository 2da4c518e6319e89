"""`PythiaConfig`: every choice that defines a Pythia sample, validated on construction.

The config is the cache key of a sample (:meth:`PythiaConfig.digest`): two runs with equal
configs produce the same events, so the second one reads the cached file. The key also carries
the engine version and any pythia8mc or fastjet version other than trigkit's pins.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

from trigkit.core.errors import TrigkitError
from trigkit.events.pythia.libs import PINNED, unpinned_versions

PROCESSES = ("hh4b", "qcd", "ttbar", "xhh", "zjets", "wjets")
Z_DECAYS = ("all", "bb")
MAX_PYTHIA_SEED = 900_000_000  # Pythia's Random:seed range is 1..900 000 000
POOL_SEED = 4242
ENGINE_VERSION = 9  # bump when the events of a config change: invalidates cached samples
POOL_VERSION = 2  # bump when the pool's physics changes (v3 of the engine kept the pool)


@dataclass(frozen=True)
class PythiaConfig:
    """One Pythia sample.

    process      hh4b (our LO gg->HH, showered by Pythia), qcd (HardQCD:all, pT-hat biased),
                 ttbar (gg/qqbar->ttbar), xhh (Pythia's gg->H2->hh, resonance mass ``m_x``),
                 zjets (qqbar->Zg, qg->Zq, pure Z), wjets (qqbar->Wg, qg->Wq); both pT-hat
                 biased like qcd
    n_events     hard-scatter events
    seed         Pythia seed of the hard process (the pileup pool has its own, derived)
    mu           mean pileup interactions overlaid per event (Poisson), 0 for none
    lumi_pb      weights sum to sigma x lumi_pb
    kappa_lambda Higgs self-coupling modifier (hh4b only)
    pthat_min    pT-hat threshold (GeV) of qcd, zjets and wjets; also the reference of the
                 pT-hat bias
    m_x          xhh resonance mass (GeV)
    pool_size    minimum-bias events in the pileup pool (generated once, cached)
    z_decay      zjets: "all" (Pythia's branching ratios) or "bb" (Z -> bb only, the Xbb
                 calibration candle; sigma includes BR(Z -> bb))
    settings     extra Pythia settings ("Key = value"), applied last
    """

    process: str
    n_events: int
    seed: int = 1
    mu: float = 60.0
    lumi_pb: float = 1000.0
    kappa_lambda: float = 1.0
    pthat_min: float = 15.0
    m_x: float = 1000.0
    pool_size: int = 2000
    z_decay: str = "all"
    settings: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.process not in PROCESSES:
            raise TrigkitError(
                f"unknown process '{self.process}' for the pythia engine; "
                f"valid: {', '.join(PROCESSES)}"
            )
        _positive_int("n_events (--events)", self.n_events)
        _positive_int("pool_size (--pool-size)", self.pool_size)
        if not isinstance(self.seed, int) or not 0 <= self.seed < MAX_PYTHIA_SEED:
            raise TrigkitError(
                f"seed must be an integer in [0, {MAX_PYTHIA_SEED}), got {self.seed!r}"
            )
        if not self.mu >= 0:
            raise TrigkitError(
                f"mu (--mu) must be >= 0 (mean pileup interactions), got {self.mu!r}"
            )
        if not self.lumi_pb > 0:
            raise TrigkitError(f"lumi_pb (--lumi-pb) must be positive, got {self.lumi_pb!r}")
        if not self.pthat_min > 0:
            raise TrigkitError(
                f"pthat_min (--pthat-min) must be positive GeV, got {self.pthat_min!r}"
            )
        if not self.m_x > 2 * 125.2:
            raise TrigkitError(f"m_x (--m-x) must exceed 2 mH = 250.4 GeV, got {self.m_x!r}")
        _check_z_decay(self.z_decay, self.process)
        for s in self.settings:
            if "=" not in s:
                raise TrigkitError(f"Pythia setting '{s}' must read 'Key = value'")

    def digest(self) -> str:
        """A short hash of the config, the engine version and unpinned library versions: the
        sample's cache key."""
        fields = asdict(self)
        if fields["z_decay"] == "all":  # the default: keys of configs made before it stay
            del fields["z_decay"]
        payload = {**fields, "engine": ENGINE_VERSION, **_libs_entry(tuple(PINNED))}
        return _short_hash(payload)

    def pool_key(self) -> str:
        """Cache key of the pileup pool: its size only (one pool serves every sample; which
        pool events a hard event gets, where and how rotated, follows the sample's seed)."""
        payload = {"pool": self.pool_size, "seed": POOL_SEED, "v": POOL_VERSION}
        return _short_hash({**payload, **_libs_entry(("pythia8mc",))})


def _libs_entry(names: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """``{"libs": {name: version}}`` for the libraries ``names`` not at trigkit's pins, else
    nothing (so keys from before library versions counted stay)."""
    versions = unpinned_versions(names)
    return {"libs": versions} if versions else {}


def _short_hash(payload: dict) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def _positive_int(name: str, value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise TrigkitError(f"{name} must be a positive integer, got {value!r}")


def _check_z_decay(z_decay: object, process: str) -> None:
    if z_decay not in Z_DECAYS:
        raise TrigkitError(
            f"z_decay (--z-decay) must be one of {', '.join(Z_DECAYS)}, got {z_decay!r}"
        )
    if z_decay != "all" and process != "zjets":
        raise TrigkitError(
            f"z_decay (--z-decay) {z_decay} needs --process zjets, got process '{process}'"
        )
