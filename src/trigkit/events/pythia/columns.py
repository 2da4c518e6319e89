"""Many events' Pythia records as flat columns, read into :class:`record.Record` in bulk.

``pythia.nextBatch(n)`` generates ``n`` events and copies their whole records into one awkward
array in C++; :meth:`Columns.from_batch` takes its buffers (no per-event Python), and
:func:`read` selects the same arrays as :func:`record.read` does particle by particle: the
visible final state, the weakly decaying b/c hadrons (a numba pass over the daughter columns),
the hard-process partons and the Higgs bosons. Kinematics follow Pythia's own formulas
(``Vec4::pT``, ``eta``, ``phi``), so the numbers are bit-identical to the per-particle API.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit

from trigkit.events.pythia.record import Record, heavy_flavour

_INVISIBLE = np.array([12, 14, 16])
_TINY = 1e-20  # Pythia's TINY in Vec4::eta
EP_TOL = 1e-4  # Pythia's Check:epTolErr: allowed E-p imbalance, a fraction of the beams' energy
CHARGE_TOL = 0.1  # Pythia's charge-conservation tolerance in Pythia::check


@dataclass
class Columns:
    """Records of ``len(off) - 1`` events, flat; indices (d1, d2) are local to each event."""

    off: np.ndarray  # (n + 1,) first row of each event
    pid: np.ndarray
    status: np.ndarray
    d1: np.ndarray
    d2: np.ndarray
    p: np.ndarray  # (rows, 4) px py pz e
    v: np.ndarray  # (rows, 3) production vertex (mm), 0 where Pythia set none

    @classmethod
    def from_batch(cls, batch: Any) -> Columns:
        """The columns of an awkward ``pythia.nextBatch(n)`` result (buffers, no copies per
        event)."""
        lst = batch.layout.content("prt")
        off = np.asarray(lst.offsets, dtype=np.int64)
        start, stop = int(off[0]), int(off[-1])
        prt = lst.content

        def col(c: Any, name: str) -> np.ndarray:
            return np.asarray(c.content(name).data)[start:stop]

        mom, vtx = prt.content("p"), prt.content("vProd")
        index = np.asarray(vtx.index)[start:stop]
        v = np.stack([np.asarray(vtx.content.content(k).data) for k in ("px", "py", "pz")], 1)
        v = np.where(index[:, None] >= 0, v[np.maximum(index, 0)], 0.0) if len(v) else v
        return cls(
            off=off - start,
            pid=col(prt, "id").astype(np.int64),
            status=col(prt, "status"),
            d1=col(prt, "daughter1").astype(np.int64),
            d2=col(prt, "daughter2").astype(np.int64),
            p=np.stack([col(mom, k) for k in ("px", "py", "pz", "e")], 1),
            v=v.reshape(-1, 3),
        )

    def __len__(self) -> int:
        return len(self.off) - 1


def sound(cols: Columns, charges: dict[int, float]) -> np.ndarray:
    """Per event, whether its record passes the checks of Pythia's own ``Check:event`` that
    the detector relies on: every momentum and vertex finite, and the final state carries the
    beams' four-momentum (within ``EP_TOL`` of their energy) and charge. The hard process runs
    with ``Check:event = off`` (its full check costs 4 % of Pythia's time); this pass costs
    microseconds per event and rejects what that check would have."""
    sel = (cols.status > 0) | _beam_rows(cols.off, len(cols.pid))
    q = np.zeros(len(cols.pid))
    q[sel] = _charge_of(cols.pid[sel], charges)
    return _sound(cols.off, cols.status, cols.p, cols.v, q, EP_TOL, CHARGE_TOL)


def _charge_of(pid: np.ndarray, charges: dict[int, float]) -> np.ndarray:
    """Charge of each row of ``pid``, asking ``charges`` once per distinct id."""
    uniq, inverse = np.unique(pid, return_inverse=True)
    return np.array([charges[q] for q in uniq.tolist()], dtype=float)[inverse]


def _beam_rows(off: np.ndarray, rows: int) -> np.ndarray:
    """Rows 1 and 2 of each event (Pythia's two beam particles)."""
    beam = np.zeros(rows, dtype=bool)
    first = off[:-1][off[1:] - off[:-1] >= 3]
    beam[first + 1] = True
    beam[first + 2] = True
    return beam


@njit(cache=True)
def _sound(
    off: np.ndarray,
    status: np.ndarray,
    p: np.ndarray,
    v: np.ndarray,
    q: np.ndarray,
    ep_tol: float,
    charge_tol: float,
) -> np.ndarray:
    n = len(off) - 1
    ok = np.ones(n, dtype=np.bool_)
    for e in range(n):
        a, b = off[e], off[e + 1]
        if b - a < 3:  # no system row and two beams
            ok[e] = False
            continue
        bal = -(p[a + 1] + p[a + 2])
        charge = -(q[a + 1] + q[a + 2])
        for i in range(a, b):
            if not (np.isfinite(p[i]).all() and np.isfinite(v[i]).all()):
                ok[e] = False
            if status[i] > 0:
                bal += p[i]
                charge += q[i]
        tol = ep_tol * (p[a + 1, 3] + p[a + 2, 3])
        if np.abs(bal).max() > tol or abs(charge) > charge_tol:
            ok[e] = False
    return ok


def daughters(a: int, b: int) -> list[int]:
    """Pythia's ``Particle::daughterList`` rule on (daughter1, daughter2)."""
    if a == 0 and b == 0:
        return []
    if b == 0 or b == a:
        return [a]
    if b > a:
        return list(range(a, b + 1))
    return [b, a]


def pt_eta_phi(p: np.ndarray) -> np.ndarray:
    """(n, 3) pT, eta, phi of (n, 4) momenta, as Pythia's ``Vec4`` computes them; eta is 0
    where pT is 0 (the convention of :func:`record._pt_eta_phi`)."""
    px, py, pz = p[:, 0], p[:, 1], p[:, 2]
    pt = np.sqrt(px * px + py * py)
    pabs = np.sqrt(px * px + py * py + pz * pz)
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = np.log((pabs + np.abs(pz)) / np.maximum(_TINY, pt))
    eta = np.where(pz > 0, eta, -eta)
    # phi through the C library's atan2 (Pythia's): numpy's vectorised arctan2 can differ from
    # it in the last bit; hadrons and partons are a few rows per event
    phi = np.array([math.atan2(y, x) for y, x in zip(py.tolist(), px.tolist(), strict=True)])
    return np.stack([pt, np.where(pt > 0, eta, 0.0), phi.reshape(-1)], 1)


def read(cols: Columns, charges: dict[int, float]) -> list[Record]:
    """:func:`record.read` of every event of ``cols`` (``charges``: charge per PDG id, filled
    from Pythia's particle data as ids appear)."""
    ids = np.abs(cols.pid)
    final = (cols.status > 0) & ~np.isin(ids, _INVISIBLE)
    parts = np.empty((int(final.sum()), 9))
    parts[:, :4] = cols.p[final]
    parts[:, 4:7] = cols.v[final]
    pid = cols.pid[final]
    parts[:, 7] = _charge_of(pid, charges)
    parts[:, 8] = pid
    fin_off = _group(_event_of(np.nonzero(final)[0], cols.off), len(cols))
    had_rows, had_ev, had_hf = _weak_hadrons(cols.off, ids, cols.d1, cols.d2)
    hadrons = np.concatenate([pt_eta_phi(cols.p[had_rows]), had_hf[:, None]], 1)
    had_off = _group(had_ev, len(cols))
    # the outgoing partons of the hard process and its resonance decays: status +-23 in the
    # event record (lab frame, after the initial-state recoil)
    par_rows = np.nonzero((np.abs(cols.status) == 23) & ((ids <= 5) | (ids == 21)))[0]
    partons = np.concatenate([pt_eta_phi(cols.p[par_rows]), ids[par_rows, None]], 1)
    par_off = _group(_event_of(par_rows, cols.off), len(cols))
    higgs = _higgs(cols, ids)
    return [
        Record(
            parts=parts[fin_off[e] : fin_off[e + 1]],
            hadrons=hadrons[had_off[e] : had_off[e + 1]],
            partons=partons[par_off[e] : par_off[e + 1]],
            higgs=higgs[e][0],
            higgs_b=higgs[e][1],
            mhh=higgs[e][2],
        )
        for e in range(len(cols))
    ]


def _event_of(rows: np.ndarray, off: np.ndarray) -> np.ndarray:
    return np.searchsorted(off, rows, side="right") - 1


def _group(ev: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(ev, minlength=n), out=out[1:])
    return out


@njit(cache=True)
def _has_daughter_of(ids: np.ndarray, base: int, x: int, y: int, hf: int) -> bool:
    """Whether a daughter (Pythia's ``daughterList`` rule on daughter1 = x, daughter2 = y)
    carries heavy flavour ``hf``."""
    if x == 0 and y == 0:
        return False
    if y == 0 or y == x:
        return heavy_flavour(ids[base + x]) == hf
    if y < x:  # two daughters, not a range
        return heavy_flavour(ids[base + y]) == hf or heavy_flavour(ids[base + x]) == hf
    for d in range(x, y + 1):
        if heavy_flavour(ids[base + d]) == hf:
            return True
    return False


@njit(cache=True)
def _weak_hadrons(
    off: np.ndarray, ids: np.ndarray, d1: np.ndarray, d2: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows, events, flavours) of the heavy hadrons none of whose daughters has their
    flavour: the last b (c) hadron of each decay chain."""
    rows, evs, flav = [], [], []
    for ev in range(len(off) - 1):
        for i in range(off[ev], off[ev + 1]):
            a = ids[i]
            if a < 400 or a == 12 or a == 14 or a == 16:
                continue
            hf = heavy_flavour(a)
            if hf != 0 and not _has_daughter_of(ids, off[ev], d1[i], d2[i], hf):
                rows.append(i)
                evs.append(ev)
                flav.append(float(hf))
    return (
        np.array(rows, dtype=np.int64),
        np.array(evs, dtype=np.int64),
        np.array(flav, dtype=np.float64),
    )


def _higgs(cols: Columns, ids: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """Per event: :func:`record._higgs_summary` of the last copies of the Higgs bosons."""
    found: list[list[tuple[int, list[int]]]] = [[] for _ in range(len(cols))]
    for i in np.nonzero(ids == 25)[0].tolist():
        ev = int(_event_of(np.array([i]), cols.off)[0])
        base = int(cols.off[ev])
        dau = daughters(int(cols.d1[i]), int(cols.d2[i]))
        if not dau or any(ids[base + d] == 25 for d in dau):
            continue  # keep the last copy, the one that decays
        found[ev].append((i, [base + d for d in dau[:2]]))
    return [_summary(cols, hs) for hs in found]


def _summary(
    cols: Columns, hs: list[tuple[int, list[int]]]
) -> tuple[np.ndarray, np.ndarray, float]:
    rows = np.array([i for i, _ in hs], dtype=np.int64)
    higgs = pt_eta_phi(cols.p[rows])
    bs = [pt_eta_phi(cols.p[np.array(b, dtype=np.int64)])[:, 1:] for _, b in hs]
    higgs_b = np.array(bs, dtype=float).reshape(-1, 2, 2)
    mhh = float("nan")
    if len(hs) == 2:
        px, py, pz, e = (cols.p[rows[0], k] + cols.p[rows[1], k] for k in range(4))
        mhh = float(np.sqrt(max(e * e - px * px - py * py - pz * pz, 0.0)))
    return higgs, higgs_b, mhh
