"""One chunk of generated events -> reconstructed jets, tracks and large-R jets (awkward)."""

from __future__ import annotations

from dataclasses import dataclass

import awkward as ak
import numpy as np

from trigkit.events.pythia import calo, jetbuild
from trigkit.events.pythia.clustering import cluster, groomed
from trigkit.events.pythia.far import Far
from trigkit.events.pythia.record import Record
from trigkit.events.pythia.tracking import reconstruct

JET_R, JET_PT_MIN, JET_ETA_MAX = 0.4, 15.0, 4.7
FAT_R, FAT_PT_MIN, FAT_ETA_MAX = 0.8, 170.0, 2.4
MAX_CONSTITUENTS = 64
TRACK_NAMES = ("pt", "deta", "dphi", "d0", "z0", "d0_sig", "z0_sig")


@dataclass
class ChunkInput:
    """Flat arrays of a chunk: particles (n, 11) with per-event offsets, primary-vertex z."""

    parts: np.ndarray
    off: np.ndarray
    zpv: np.ndarray
    records: list[Record]
    far: Far | None = None  # pileup vertices that bring the pool's precomputed response


def _flat(arrays: list[np.ndarray], width: int) -> tuple[np.ndarray, np.ndarray]:
    off = np.zeros(len(arrays) + 1, dtype=np.int64)
    np.cumsum([len(a) for a in arrays], out=off[1:])
    flat = np.concatenate(arrays) if arrays else np.empty((0, width))
    return np.ascontiguousarray(flat.reshape(-1, width)), off


def _record(
    fields: dict[str, np.ndarray], nested: dict[str, ak.contents.Content]
) -> ak.contents.RecordArray:
    contents = [ak.contents.NumpyArray(np.ascontiguousarray(v)) for v in fields.values()]
    contents += list(nested.values())
    n = len(next(iter(fields.values())))
    return ak.contents.RecordArray(contents, [*fields, *nested], length=n)


def _list(counts: np.ndarray, content: ak.contents.Content) -> ak.contents.ListOffsetArray:
    off = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=off[1:])
    return ak.contents.ListOffsetArray(ak.index.Index64(off), content)


def reconstruct_chunk(
    chunk: ChunkInput, seed: int
) -> tuple[ak.Array, ak.Array, np.ndarray, np.ndarray]:
    """(jets, fatjets, rho, tracking counters (n_ev, tracking.N_S)) of the chunk, in the
    EventBatch layout."""
    n_ev = len(chunk.off) - 1
    trk, toff, stats = reconstruct(chunk.parts, chunk.off, chunk.zpv, seed, chunk.far)
    table, coff = calo.calo_inputs(chunk.parts, chunk.off, chunk.zpv, chunk.far)
    rho = calo.rho(table, coff)
    counts = np.diff(coff)
    had, hoff = _flat([r.hadrons for r in chunk.records], 4)
    par, poff = _flat([r.partons for r in chunk.records], 4)
    common = (table, coff, rho)
    truth = (trk, toff, had, hoff, par, poff)

    j4 = cluster(table[:, :4], counts, "antikt", JET_R, 0.5 * JET_PT_MIN)
    jets, tracks, ntrk = jetbuild.build_jets(
        j4.p4, j4.joff, j4.cidx, j4.cj, *common, JET_R, JET_PT_MIN, JET_ETA_MAX, *truth, seed + 1
    )
    jets_ak = _small_jets(jets, tracks, ntrk, n_ev)

    j8 = cluster(table[:, :4], counts, "antikt", FAT_R, 0.6 * FAT_PT_MIN)
    fat, _, _ = jetbuild.build_jets(
        j8.p4, j8.joff, j8.cidx, j8.cj, *common, FAT_R, FAT_PT_MIN, FAT_ETA_MAX, *truth, seed + 2
    )
    fat_ak = _fat_jets(chunk, fat, j8.cidx, j8.cj, table, coff, trk, n_ev)
    return ak.Array(jets_ak), ak.Array(fat_ak), rho, stats


def _per_event(jets: np.ndarray, n_ev: int) -> np.ndarray:
    return np.bincount(jets[:, jetbuild.J_EV].astype(np.int64), minlength=n_ev)


def _small_jets(
    jets: np.ndarray, tracks: np.ndarray, ntrk: np.ndarray, n_ev: int
) -> ak.contents.ListOffsetArray:
    J = jetbuild
    trk_rec = _record({k: tracks[:, i].astype(np.float32) for i, k in enumerate(TRACK_NAMES)}, {})
    fields = {
        "pt": jets[:, J.J_PT].astype(np.float32),
        "eta": jets[:, J.J_ETA].astype(np.float32),
        "phi": jets[:, J.J_PHI].astype(np.float32),
        "mass": jets[:, J.J_MASS].astype(np.float32),
        "hadron_flavour": jets[:, J.J_HF].astype(np.int8),
        "parton_flavour": jets[:, J.J_PF].astype(np.int8),
        "is_pileup": jets[:, J.J_PU].astype(np.bool_),
    }
    return _list(_per_event(jets, n_ev), _record(fields, {"tracks": _list(ntrk, trk_rec)}))


def _fat_jets(
    chunk: ChunkInput,
    fat: np.ndarray,
    cidx: np.ndarray,
    cj: np.ndarray,
    table: np.ndarray,
    coff: np.ndarray,
    trk: np.ndarray,
    n_ev: int,
) -> ak.contents.ListOffsetArray:
    J = jetbuild
    hb, hboff = _flat([r.higgs_b.reshape(-1, 4) for r in chunk.records], 4)
    label = J.hbb_label(fat, hb.reshape(-1, 2, 2), hboff, FAT_R)
    p2t = J.particle_to_track(len(chunk.parts), trk)
    cons, ncon = J.constituents(
        fat, cidx, cj, table, coff, chunk.parts, chunk.off, p2t, trk, MAX_CONSTITUENTS
    )
    shapes = groomed(*_all_constituents(fat, cidx, cj, table, coff))
    con_rec = _record(
        {
            "pt": cons[:, 0].astype(np.float32),
            "deta": cons[:, 1].astype(np.float32),
            "dphi": cons[:, 2].astype(np.float32),
            "d0_sig": cons[:, 3].astype(np.float32),
            "charge": cons[:, 4].astype(np.int8),
        },
        {},
    )
    fields = {
        "pt": fat[:, J.J_PT].astype(np.float32),
        "eta": fat[:, J.J_ETA].astype(np.float32),
        "phi": fat[:, J.J_PHI].astype(np.float32),
        "mass": fat[:, J.J_MASS].astype(np.float32),
        "msd": shapes["msd"].astype(np.float32),
        "tau21": shapes["tau21"].astype(np.float32),
        "tau32": shapes["tau32"].astype(np.float32),
        "d2": shapes["d2"].astype(np.float32),
        "label": label,
        "hadron_flavour": fat[:, J.J_HF].astype(np.int8),
        "n_b_hadrons": J.count_b_hadrons(fat, *_flat([r.hadrons for r in chunk.records], 4), FAT_R),
    }
    return _list(_per_event(fat, n_ev), _record(fields, {"constituents": _list(ncon, con_rec)}))


def _all_constituents(
    fat: np.ndarray, cidx: np.ndarray, cj: np.ndarray, table: np.ndarray, coff: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    rows, counts = [], []
    for n in range(len(fat)):
        ev, j = int(fat[n, jetbuild.J_EV]), int(fat[n, jetbuild.J_SRC])
        rows.append(coff[ev] + cidx[cj[j] : cj[j + 1]])
        counts.append(cj[j + 1] - cj[j])
    sel = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    return np.ascontiguousarray(table[sel, :4]), np.asarray(counts, dtype=np.int64)
