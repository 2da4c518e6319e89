"""Pythia settings per process, and one place that hands them to Pythia.

Pythia prints why it rejects a setting on C++ stdout and returns False; :func:`apply` captures
that text so the user sees Pythia's own message in one ``error:`` line.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from trigkit.core.errors import TrigkitError
from trigkit.events.pythia.config import PythiaConfig

E_CM_GEV = 13600.0

COMMON = (
    f"Beams:eCM = {E_CM_GEV:g}",
    "Next:numberCount = 0",
    "Next:numberShowEvent = 0",
    "Next:numberShowLHA = 0",
    "Next:numberShowInfo = 0",
    "Next:numberShowProcess = 0",
    "Init:showChangedSettings = off",
    "Init:showProcesses = off",
    "Init:showChangedParticleData = off",
    "Random:setSeed = on",
    # K0s, Lambda and every B/D hadron decay inside Pythia (tau0 < 1 m): real displaced tracks
    "ParticleDecays:limitTau0 = on",
    "ParticleDecays:tau0Max = 1000",
)
# The hard process skips Pythia's check of each event record (4 % of its time per event) and
# is checked by columns.sound instead (finite values, four-momentum and charge of the beams in
# the final state: what the detector relies on), which rejects the events it would have.
# Samples are bit-identical either way (qcd, ttbar, hh4b, zjets hashed). The pileup pool keeps
# Pythia's check: it is made once and cached.
OWN_RECORD_CHECK = ("Check:event = off",)
H_TO_BB = ("25:onMode = off", "25:onIfMatch = 5 -5")
Z_TO_BB = ("23:onMode = off", "23:onIfMatch = 5 -5")
QCD_BIAS_POW = 4.0
# V+jets falls about one power of pT-hat more slowly than QCD: a bias (pT-hat / pT-hat_min)^3
# puts 38 % of the events above pT-hat = 200 GeV from a 15 GeV threshold (QCD with ^4: 25 %)
VJETS_BIAS_POW = 3.0
Z_JETS = (
    "WeakBosonAndParton:qqbar2gmZg = on",
    "WeakBosonAndParton:qg2gmZq = on",
    "WeakZ0:gmZmode = 2",  # pure Z, no gamma* or interference
)
W_JETS = ("WeakBosonAndParton:qqbar2Wg = on", "WeakBosonAndParton:qg2Wq = on")


def hard_settings(cfg: PythiaConfig, lhef: str | None = None) -> list[str]:
    """Everything the engine gives the hard process's Pythia: the process, our own record
    check in place of Pythia's, then the user's settings (applied last, so they win)."""
    return [*process_settings(cfg, lhef), *OWN_RECORD_CHECK, *cfg.settings]


def process_settings(cfg: PythiaConfig, lhef: str | None = None) -> list[str]:
    """Settings of the hard process (``lhef``: the Les Houches file of an hh4b sample)."""
    if cfg.process == "hh4b":
        if lhef is None:
            raise ValueError("hh4b needs its Les Houches file")
        return ["Beams:frameType = 4", f"Beams:LHEF = {lhef}", *H_TO_BB]
    if cfg.process == "qcd":
        return ["HardQCD:all = on", *pthat_bias(cfg.pthat_min, QCD_BIAS_POW)]
    if cfg.process == "zjets":
        decay = Z_TO_BB if cfg.z_decay == "bb" else ()
        return [*Z_JETS, *decay, *pthat_bias(cfg.pthat_min, VJETS_BIAS_POW)]
    if cfg.process == "wjets":
        return [*W_JETS, *pthat_bias(cfg.pthat_min, VJETS_BIAS_POW)]
    if cfg.process == "ttbar":
        return ["Top:gg2ttbar = on", "Top:qqbar2ttbar = on"]
    if cfg.process == "xhh":
        return [
            "Higgs:useBSM = on",
            "HiggsBSM:gg2H2 = on",
            f"35:m0 = {cfg.m_x:g}",
            f"35:mWidth = {0.01 * cfg.m_x:g}",
            "35:onMode = off",
            "35:onIfMatch = 25 25",
            *H_TO_BB,
        ]
    raise ValueError(cfg.process)


def pthat_bias(pthat_min: float, power: float) -> list[str]:
    """pT-hat > ``pthat_min``, events drawn with bias (pT-hat / pthat_min)^power; Pythia's
    weight (pthat_min / pT-hat)^power compensates."""
    return [
        f"PhaseSpace:pTHatMin = {pthat_min:g}",
        "PhaseSpace:bias2Selection = on",
        f"PhaseSpace:bias2SelectionPow = {power:g}",
        f"PhaseSpace:bias2SelectionRef = {pthat_min:g}",
    ]


def minbias_settings() -> list[str]:
    """Inelastic minimum bias (non-diffractive + diffractive), for the pileup pool."""
    return ["SoftQCD:inelastic = on"]


def build(settings: list[str], seed: int, what: str, mpi_init: Path | None = None) -> Any:
    """An initialised ``pythia8mc.Pythia`` (TrigkitError with Pythia's message on refusal).

    ``mpi_init``: a file for Pythia's multiparton-interaction tables (seconds to compute): read
    when present, else computed, saved to a temporary sibling renamed into place and read back.
    The random generator is re-seeded after ``init``: the events do not depend on which ran.
    """
    if mpi_init is None:
        return _init(settings, seed, what)
    mpi_init.parent.mkdir(parents=True, exist_ok=True)
    tmp = None if mpi_init.exists() else mpi_init.with_name(f".{mpi_init.name}.{os.getpid()}")
    reuse = [
        f"MultipartonInteractions:reuseInit = {2 if tmp is None else 1}",
        f"MultipartonInteractions:initFile = {tmp or mpi_init}",
    ]
    try:
        pythia = _init([*reuse, *settings], seed, what)
        if tmp is None or not tmp.exists():
            return pythia
        os.replace(tmp, mpi_init)
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
    # the tables as written (rounded to text) differ from the ones just computed: read them
    # back, so a sample is the same whether or not the tables were there before
    return build(settings, seed, what, mpi_init)


def check(settings: list[str], what: str) -> None:
    """Let Pythia read ``settings`` without initialising (a fraction of a second): a rejected
    setting fails here, before minutes of pileup pool or workers are spent."""
    _read(settings, 1, what)


@functools.cache
def _pristine() -> Any:
    """A Pythia that reads nothing: its settings and particle data, parsed from Pythia's XML
    once per process (50 ms), are copied into each new instance (1 ms)."""
    from trigkit.events.pythia.libs import pythia8

    with captured_stdout():
        return pythia8().Pythia("", False)


def _read(settings: list[str], seed: int, what: str) -> Any:
    from trigkit.events.pythia.libs import pythia8

    template = _pristine()
    with captured_stdout() as out:
        pythia = pythia8().Pythia(template.settings, template.particleData, False)
    for s in (*COMMON, f"Random:seed = {seed + 1}", *settings):
        with captured_stdout() as out:
            ok = pythia.readString(s)
        if not ok:
            raise TrigkitError(f"Pythia rejected setting '{s}' ({what}): {_first_line(out)}")
    return pythia


def _init(settings: list[str], seed: int, what: str) -> Any:
    pythia = _read(settings, seed, what)
    with captured_stdout() as out:
        ok = pythia.init()
    if not ok:
        raise TrigkitError(f"Pythia failed to initialise {what}: {_first_line(out)}")
    pythia.rndm.init(seed + 1)
    return pythia


def _first_line(out: list[str]) -> str:
    lines = [ln.strip() for ln in "".join(out).splitlines() if ln.strip()]
    err = [ln for ln in lines if "Error" in ln or "Abort" in ln or "Warning" in ln]
    text = " ".join(err or lines[:1]).replace("PYTHIA ", "")
    return " ".join(text.split())[:300] or "no message"


@contextlib.contextmanager
def captured_stdout() -> Iterator[list[str]]:
    """Redirect file descriptor 1 (C++ ``cout``) to a temporary file; yield its text after."""
    sink: list[str] = []
    sys.stdout.flush()
    saved = os.dup(1)
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        os.dup2(tmp.fileno(), 1)
        try:
            yield sink
        finally:
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)
            tmp.seek(0)
            sink.append(tmp.read().decode(errors="replace"))
