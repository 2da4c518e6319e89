"""Read what the detector stage needs out of one Pythia event record into numpy arrays.

Per event: the visible final state (neutrinos dropped) with production vertices (mm, relative
to the interaction point), the weakly decaying b and c hadrons (a heavy hadron none of whose
daughters carries the same heavy flavour: the ATLAS/CMS hadron-label definition), the outgoing
hard-process partons, and the Higgs bosons with their b daughters (for mHH and the H->bb label).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit

_INVISIBLE = {12, 14, 16}


@dataclass
class Record:
    """One event's arrays. ``parts``: (n, 9) px py pz e x y z charge pid (GeV, mm)."""

    parts: np.ndarray
    hadrons: np.ndarray  # (k, 4): pt eta phi flavour (5 or 4)
    partons: np.ndarray  # (k, 4): pt eta phi |pid|
    higgs: np.ndarray  # (k, 3): pt eta phi of each Higgs boson (last copy)
    higgs_b: np.ndarray  # (k, 2, 2): eta phi of its two b daughters
    mhh: float


@njit(cache=True)
def heavy_flavour(pid: int) -> int:
    """5 for b hadrons, 4 for c hadrons (no b), 0 otherwise (PDG numbering)."""
    a = abs(pid)
    if a < 100 or a >= 10_000:
        a = a % 10_000
        if a < 100:
            return 0
    q1, q2 = (a // 1000) % 10, (a // 100) % 10
    if q1 == 5 or q2 == 5:
        return 5
    if q1 == 4 or q2 == 4:
        return 4
    return 0


def read_final(event: Any, particles: list[Any] | None = None) -> np.ndarray:
    """(n, 9) px py pz e x y z charge pid of the visible final-state particles.

    One Python pass: each particle's nine numbers go into one tuple (no per-column sweeps)."""
    if particles is None:
        particles = event.particles()
    rows = [
        (q.px(), q.py(), q.pz(), q.e(), q.xProd(), q.yProd(), q.zProd(), q.charge(), q.id())
        for q in particles
        if q.isFinal() and q.idAbs() not in _INVISIBLE
    ]
    return np.array(rows, dtype=float).reshape(-1, 9)


def read(event: Any) -> Record:
    """The arrays of one event (``event``: ``pythia.event``), particle by particle: the
    reference of the bulk reader ``columns.read``."""
    particles = event.particles()
    parts = read_final(event, particles)
    ids = [q.idAbs() for q in particles]
    return Record(
        parts=parts,
        hadrons=_weak_hadrons(particles, ids),
        partons=_hard_partons(particles),
        higgs=(h := _higgs(particles, ids))[0],
        higgs_b=h[1],
        mhh=h[2],
    )


def _pt_eta_phi(q: Any) -> tuple[float, float, float]:
    pt = q.pT()
    return pt, (q.eta() if pt > 0 else 0.0), q.phi()


def _weak_hadrons(particles: list[Any], ids: list[int]) -> np.ndarray:
    rows = []
    for i, a in enumerate(ids):
        if a < 400 or a in _INVISIBLE:
            continue
        hf = heavy_flavour(a)
        if hf == 0:
            continue
        q = particles[i]
        if any(heavy_flavour(ids[d]) == hf for d in q.daughterList()):
            continue  # not the last hadron of this flavour in the decay chain
        rows.append((*_pt_eta_phi(q), hf))
    return np.array(rows, dtype=float).reshape(-1, 4)


def _hard_partons(particles: list[Any]) -> np.ndarray:
    """Quarks and gluons leaving the hard process or a resonance decay in it (H -> bb,
    t -> bW, W -> qq'): status +-23 in the event record, i.e. in the lab frame after the
    initial-state recoil (``pythia.process`` holds them before it)."""
    rows = [
        (*_pt_eta_phi(q), q.idAbs())
        for q in particles
        if abs(q.status()) == 23 and (q.idAbs() <= 5 or q.idAbs() == 21)
    ]
    return np.array(rows, dtype=float).reshape(-1, 4)


def _higgs(particles: list[Any], ids: list[int]) -> tuple[np.ndarray, np.ndarray, float]:
    hs, bs = [], []
    for i, a in enumerate(ids):
        if a != 25:
            continue
        q = particles[i]
        dau = q.daughterList()
        if not dau or any(ids[d] == 25 for d in dau):
            continue  # keep the last copy, the one that decays
        hs.append(q)
        bs.append([(particles[d].eta(), particles[d].phi()) for d in dau[:2]])
    return _higgs_summary(hs, bs)


def _higgs_summary(hs: list[Any], bs: list[Any]) -> tuple[np.ndarray, np.ndarray, float]:
    """(pt eta phi of each Higgs, eta phi of its b daughters, mHH or NaN) of the last copies."""
    higgs = np.array([_pt_eta_phi(q) for q in hs], dtype=float).reshape(-1, 3)
    higgs_b = np.array(bs, dtype=float).reshape(-1, 2, 2)
    mhh = float("nan")
    if len(hs) == 2:
        e = hs[0].e() + hs[1].e()
        px, py, pz = (hs[0].px() + hs[1].px(), hs[0].py() + hs[1].py(), hs[0].pz() + hs[1].pz())
        mhh = float(np.sqrt(max(e * e - px * px - py * py - pz * pz, 0.0)))
    return higgs, higgs_b, mhh
