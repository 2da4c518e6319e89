"""The two parallel passes over a chunk of events (numba, ``prange`` over events).

1. :func:`event_pass` -- hard process, radiation, jets and large-R jets into fixed-size
   per-event slots (``MAXJ`` jets, ``MAXF`` large-R jets), each sorted by decreasing pT, plus the
   number of tracks / constituents every jet will get.
2. :func:`track_pass` / :func:`constituent_pass` -- fill flat track / constituent tables at the
   offsets computed from those counts.

Each event draws from its own stream keyed by (seed, process, pass, global index), so the output
does not depend on the chunking or on the number of threads.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from trigkit.events.generator.constants import (
    FF_PT,
    JF_DZ,
    JF_PT,
    JF_XHAD,
    JI_HCODE,
    JI_NFRAG,
    JI_NHAD,
    MAXCON,
    MAXTRK,
    N_T,
)
from trigkit.events.generator.constituents import N_CON_COLS, fatjet_constituents
from trigkit.events.generator.fatjets import make_fatjets
from trigkit.events.generator.hh4b import hh4b_event
from trigkit.events.generator.jets import make_jets
from trigkit.events.generator.partons import new_partons
from trigkit.events.generator.qcd import qcd_event
from trigkit.events.generator.radiation import fsr, gluon_splitting
from trigkit.events.generator.rng import stream
from trigkit.events.generator.tracks import N_TRACK_COLS, jet_tracks
from trigkit.events.generator.ttbar import ttbar_event

PROC_HH4B, PROC_QCD, PROC_TTBAR = 0, 1, 2
PASS_EVENT, PASS_TRACKS, PASS_CONSTITUENTS = 1, 2, 3


@njit(cache=True)
def permute_rows(arr: np.ndarray, order: np.ndarray) -> None:
    """arr[:len(order)] = arr[order] (rows of a 2-D or 3-D per-event slot table)."""
    n = order.shape[0]
    if n > 1:
        arr[:n] = arr[:n][order]


@njit(cache=True)
def one_event(
    key: np.uint64,
    proc: int,
    g: int,
    strat_lo: np.ndarray,
    strat_hi: np.ndarray,
    strat_slope: np.ndarray,
    jf: np.ndarray,
    ji: np.ndarray,
    ff: np.ndarray,
    fi: np.ndarray,
    fp: np.ndarray,
    truth: np.ndarray,
) -> tuple[int, int]:
    """Event g into its slots; return (n jets, n large-R jets)."""
    st = stream(key, g)
    part, pid, gsplit, res, rtype, rdau, rnd = new_partons()
    for c in range(N_T):
        truth[c] = np.nan
    if proc == PROC_HH4B:
        npart, nres, nhard = hh4b_event(st, part, pid, res, rtype, rdau, rnd, truth)
    elif proc == PROC_QCD:
        k = g % strat_lo.shape[0]
        npart, nres, nhard = qcd_event(
            st, strat_lo[k], strat_hi[k], strat_slope[k], part, pid, truth
        )
    else:
        npart, nres, nhard = ttbar_event(st, part, pid, res, rtype, rdau, rnd)
    npart = fsr(st, part, pid, npart, 0, nhard)
    gluon_splitting(st, pid, gsplit, npart)
    nf = make_fatjets(st, part, pid, gsplit, npart, res, rtype, rdau, rnd, nres, ff, fi, fp)
    order = np.argsort(-ff[:nf, FF_PT])
    permute_rows(ff, order)
    permute_rows(fi, order)
    permute_rows(fp, order)
    nj = make_jets(st, part, pid, gsplit, npart, jf, ji)
    order = np.argsort(-jf[:nj, JF_PT])
    permute_rows(jf, order)
    permute_rows(ji, order)
    return nj, nf


@njit(cache=True, parallel=True)
def event_pass(
    key: np.uint64,
    proc: int,
    first: int,
    n: int,
    strat_lo: np.ndarray,
    strat_hi: np.ndarray,
    strat_slope: np.ndarray,
    jf: np.ndarray,
    ji: np.ndarray,
    njet: np.ndarray,
    ff: np.ndarray,
    fi: np.ndarray,
    fp: np.ndarray,
    nfat: np.ndarray,
    truth: np.ndarray,
) -> None:
    for e in prange(n):
        nj, nf = one_event(
            key,
            proc,
            first + e,
            strat_lo,
            strat_hi,
            strat_slope,
            jf[e],
            ji[e],
            ff[e],
            fi[e],
            fp[e],
            truth[e],
        )
        njet[e] = nj
        nfat[e] = nf


@njit(cache=True)
def event_tracks(
    key: np.uint64,
    g: int,
    j0: int,
    j1: int,
    jf: np.ndarray,
    ji: np.ndarray,
    trk_offsets: np.ndarray,
    out: np.ndarray,
) -> None:
    st = stream(key, g)
    scratch = np.empty((MAXTRK, N_TRACK_COLS), dtype=np.float32)
    for j in range(j0, j1):
        a, b = trk_offsets[j], trk_offsets[j + 1]
        if b > a:
            jet_tracks(
                st,
                jf[j, JF_PT],
                jf[j, 1],
                ji[j, JI_HCODE],
                jf[j, JF_XHAD],
                jf[j, JF_DZ],
                ji[j, JI_NHAD],
                ji[j, JI_NFRAG],
                scratch,
            )
            for t in range(b - a):
                for c in range(N_TRACK_COLS):
                    out[c, a + t] = scratch[t, c]


@njit(cache=True, parallel=True)
def track_pass(
    key: np.uint64,
    first: int,
    jet_offsets: np.ndarray,
    jf: np.ndarray,
    ji: np.ndarray,
    trk_offsets: np.ndarray,
    out: np.ndarray,
) -> None:
    """jf/ji: flat per-jet columns of the event pass; out: float32[N_TRACK_COLS, n_tracks]."""
    n = jet_offsets.shape[0] - 1
    for e in prange(n):
        event_tracks(key, first + e, jet_offsets[e], jet_offsets[e + 1], jf, ji, trk_offsets, out)


@njit(cache=True)
def event_constituents(
    key: np.uint64,
    g: int,
    j0: int,
    j1: int,
    fat_pt: np.ndarray,
    prongs: np.ndarray,
    nprong: np.ndarray,
    con_offsets: np.ndarray,
    out: np.ndarray,
) -> None:
    st = stream(key, g)
    scratch = np.empty((MAXCON, N_CON_COLS), dtype=np.float32)
    for j in range(j0, j1):
        a, b = con_offsets[j], con_offsets[j + 1]
        if b > a:
            fatjet_constituents(st, fat_pt[j], prongs[j], nprong[j], b - a, scratch)
            for t in range(b - a):
                for c in range(N_CON_COLS):
                    out[c, a + t] = scratch[t, c]


@njit(cache=True, parallel=True)
def constituent_pass(
    key: np.uint64,
    first: int,
    fat_offsets: np.ndarray,
    fat_pt: np.ndarray,
    prongs: np.ndarray,
    nprong: np.ndarray,
    con_offsets: np.ndarray,
    out: np.ndarray,
) -> None:
    """out: float32[N_CON_COLS, n_constituents]."""
    n = fat_offsets.shape[0] - 1
    for e in prange(n):
        event_constituents(
            key,
            first + e,
            fat_offsets[e],
            fat_offsets[e + 1],
            fat_pt,
            prongs,
            nprong,
            con_offsets,
            out,
        )
