"""The Level-1 objects of a chunk as the EventBatch's ``l1jets``: L1 jets (:mod:`.l1`) with
truth labels and their Phase-2 L1 tracks (:mod:`.l1tracks`), and the L1 vertex per event.

Labels, for training the L1 tagger only (never an input): ``hadron_flavour`` and
``parton_flavour`` as for offline jets (:func:`jetbuild.hadron_label` / ``parton_label`` at the
L1 jet axis), ``is_pileup`` when less than half the window's tower ET is from the hard scatter.
"""

from __future__ import annotations

import awkward as ak
import numpy as np
from numba import njit

from trigkit.events.pythia import l1, l1tracks
from trigkit.events.pythia.detector import ChunkInput, _flat
from trigkit.events.pythia.jetbuild import hadron_label, parton_label

TRACK_NAMES = ("pt", "deta", "dphi", "d0", "z0", "d0_sig", "z0_sig")


@njit(cache=True)
def labels(
    jets: np.ndarray,
    counts: np.ndarray,
    had: np.ndarray,
    hoff: np.ndarray,
    par: np.ndarray,
    poff: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(hadron flavour, parton flavour) of each L1 jet (rows pt eta phi ..., per-event counts)."""
    hf = np.zeros(len(jets), dtype=np.int8)
    pf = np.zeros(len(jets), dtype=np.int8)
    j = 0
    for ev in range(len(counts)):
        for _ in range(counts[ev]):
            eta, phi = jets[j, l1.L_ETA], jets[j, l1.L_PHI]
            hf[j] = hadron_label(eta, phi, had, hoff[ev], hoff[ev + 1])
            pf[j] = parton_label(eta, phi, par, poff[ev], poff[ev + 1])
            j += 1
    return hf, pf


def to_awkward(
    jets: np.ndarray,
    counts: np.ndarray,
    hf: np.ndarray,
    pf: np.ndarray,
    tracks: np.ndarray,
    ntrk: np.ndarray,
) -> ak.Array:
    """``var * {pt, eta, phi, mass, hadron_flavour, parton_flavour, is_pileup, tracks}``,
    ordered by decreasing pt (tracks as the offline jets' ``tracks``)."""
    trk = ak.unflatten(
        ak.zip({k: tracks[:, i].astype(np.float32) for i, k in enumerate(TRACK_NAMES)}), ntrk
    )
    rec = ak.zip(
        {
            "pt": jets[:, l1.L_PT].astype(np.float32),
            "eta": jets[:, l1.L_ETA].astype(np.float32),
            "phi": jets[:, l1.L_PHI].astype(np.float32),
            "mass": jets[:, l1.L_MASS].astype(np.float32),
            "hadron_flavour": hf.astype(np.int8),
            "parton_flavour": pf.astype(np.int8),
            "is_pileup": jets[:, l1.L_HS] < 0.5,
            "tracks": trk,
        },
        depth_limit=1,
    )
    arr = ak.unflatten(rec, counts)
    return ak.to_packed(arr[ak.argsort(arr.pt, axis=1, ascending=False, stable=True)])


def l1_objects(chunk: ChunkInput, seed: int) -> tuple[ak.Array, np.ndarray, np.ndarray]:
    """(``l1jets`` of the chunk, L1 vertex z per event, L1 MET (n_ev, 2)); ``seed`` the
    chunk's detector seed. Far pileup vertices (``chunk.far``) enter through their pool
    events' response."""
    jets, counts, met = l1.l1_objects(chunk.parts, chunk.off, (seed + 3) % 2**31, chunk.far)
    trk, toff, zvtx = l1tracks.l1_tracks(chunk.parts, chunk.off, (seed + 5) % 2**31, chunk.far)
    tracks, ntrk = l1tracks.jet_tracks(trk, toff, jets, counts)
    had, hoff = _flat([r.hadrons for r in chunk.records], 4)
    par, poff = _flat([r.partons for r in chunk.records], 4)
    hf, pf = labels(jets, counts, had, hoff, par, poff)
    return to_awkward(jets, counts, hf, pf, tracks, ntrk), zvtx, met
