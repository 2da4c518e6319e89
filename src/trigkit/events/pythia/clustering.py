"""fastjet clustering of many events at once (its awkward interface: one C++ call per chunk)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import awkward as ak
import numpy as np

from trigkit.events.pythia.libs import fastjet
from trigkit.events.pythia.settings import captured_stdout
from trigkit.events.pythia.shapes import d2_of_constituents


def _events(p4: np.ndarray, counts: np.ndarray) -> ak.Array:
    cols = {"px": p4[:, 0], "py": p4[:, 1], "pz": p4[:, 2], "E": p4[:, 3]}
    flat = ak.zip({k: np.ascontiguousarray(v, dtype=np.float64) for k, v in cols.items()})
    return ak.unflatten(flat, counts)


@dataclass
class Jets:
    """Inclusive jets of many events, flat: ``p4`` (n, 4) px py pz E, hardest first within
    each event; event ``e``'s jets are rows ``joff[e]:joff[e + 1]``; jet ``j``'s constituents
    are ``cidx[cj[j]:cj[j + 1]]`` (indices into that event's inputs)."""

    p4: np.ndarray
    joff: np.ndarray
    cidx: np.ndarray
    cj: np.ndarray


def cluster(
    p4: np.ndarray, counts: np.ndarray, algorithm: str, radius: float, pt_min: float
) -> Jets:
    """Inclusive jets above ``pt_min`` of every event, in decreasing pt (one fastjet call)."""
    fj = fastjet()
    algo = {"antikt": fj.antikt_algorithm, "ca": fj.cambridge_algorithm, "kt": fj.kt_algorithm}
    with captured_stdout():  # fastjet prints its banner on C++ stdout at first use
        seq = fj.ClusterSequence(_events(p4, counts), fj.JetDefinition(algo[algorithm], radius))
    jets = seq.inclusive_jets(min_pt=pt_min)
    idx = seq.constituent_index(min_pt=pt_min)
    flat = ak.flatten(jets)
    jp4 = np.stack([ak.to_numpy(flat[k]).astype(np.float64) for k in ("px", "py", "pz", "E")], 1)
    joff = _offsets(ak.to_numpy(ak.num(jets, axis=1)))
    cj = _offsets(ak.to_numpy(ak.flatten(ak.num(idx, axis=2))))
    cidx = ak.to_numpy(ak.flatten(idx, axis=None)).astype(np.int64)
    ev = np.repeat(np.arange(len(joff) - 1), np.diff(joff))
    order = np.lexsort((-np.hypot(jp4[:, 0], jp4[:, 1]), ev))  # stable: ties keep fastjet's
    return Jets(np.ascontiguousarray(jp4[order]), joff, *_reorder(cidx, cj, order))


def _offsets(counts: np.ndarray) -> np.ndarray:
    off = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=off[1:])
    return off


def _reorder(cidx: np.ndarray, cj: np.ndarray, order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The constituent lists of the jets taken in ``order``: (flat indices, offsets)."""
    lens = np.diff(cj)[order]
    new = _offsets(lens)
    gather = np.repeat(cj[:-1][order] - new[:-1], lens) + np.arange(int(new[-1]))
    return cidx[gather], new


def groomed(p4: np.ndarray, counts: np.ndarray) -> dict[str, np.ndarray]:
    """Soft-drop mass (beta 0, z_cut 0.1, R0 0.8), tau21, tau32, D2 (beta 1, on the soft-drop
    constituents: :mod:`shapes`) of each constituent set in
    ``counts`` (one set = one large-R jet), reclustered with Cambridge/Aachen."""
    fj = fastjet()
    if len(counts) == 0:
        return {k: np.zeros(0) for k in ("msd", "tau21", "tau32", "d2")}
    seq: Any = fj.ClusterSequence(
        _events(p4, counts), fj.JetDefinition(fj.cambridge_algorithm, 2.0)
    )
    sd = seq.exclusive_jets_softdrop_grooming(njets=1, beta=0.0, symmetry_cut=0.1, R0=0.8)
    msd = np.asarray(ak.to_numpy(sd.msoftdrop), dtype=np.float64)
    tau = seq.njettiness(njets=[1, 2, 3], beta=1.0, R0=0.8)
    tau = np.asarray(ak.to_numpy(tau)).reshape(len(counts), -1)
    with np.errstate(divide="ignore", invalid="ignore"):
        t21 = np.where(tau[:, 0] > 0, tau[:, 1] / tau[:, 0], 0.0)
        t32 = np.where(tau[:, 1] > 0, tau[:, 2] / tau[:, 1], 0.0)
    return {"msd": msd, "tau21": t21, "tau32": t32, "d2": d2_of_constituents(sd.constituents)}
