"""One chunk of events: run the kernels, then wrap their flat buffers as awkward arrays."""

from __future__ import annotations

import awkward as ak
import numpy as np

from trigkit.events.batch import EventBatch
from trigkit.events.generator import constants as c
from trigkit.events.generator.constituents import (
    C_CHARGE,
    C_D0SIG,
    C_DETA,
    C_DPHI,
    C_PT,
    N_CON_COLS,
)
from trigkit.events.generator.kernels import (
    PASS_CONSTITUENTS,
    PASS_EVENT,
    PASS_TRACKS,
    constituent_pass,
    event_pass,
    track_pass,
)
from trigkit.events.generator.rng import stream_key as _stream_key
from trigkit.events.generator.tracks import (
    N_TRACK_COLS,
    T_D0,
    T_D0SIG,
    T_DETA,
    T_DPHI,
    T_PT,
    T_Z0,
    T_Z0SIG,
)

TRACK_COLUMNS = {
    "pt": T_PT,
    "deta": T_DETA,
    "dphi": T_DPHI,
    "d0": T_D0,
    "z0": T_Z0,
    "d0_sig": T_D0SIG,
    "z0_sig": T_Z0SIG,
}
CONSTITUENT_COLUMNS = {"pt": C_PT, "deta": C_DETA, "dphi": C_DPHI, "d0_sig": C_D0SIG}


def offsets_from_counts(counts: np.ndarray) -> np.ndarray:
    out = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=out[1:])
    return out


def jagged(offsets: np.ndarray, fields: dict[str, np.ndarray]) -> ak.contents.ListOffsetArray:
    """A ``var * {fields}`` layout from offsets and flat, contiguous columns."""
    length = int(offsets[-1])
    record = ak.contents.RecordArray(
        [ak.contents.NumpyArray(np.ascontiguousarray(v)) for v in fields.values()],
        list(fields),
        length=length,
    )
    return ak.contents.ListOffsetArray(ak.index.Index64(offsets), record)


def _tracks(
    key_seed: int, proc: int, first: int, jet_off: np.ndarray, jf: np.ndarray, ji: np.ndarray
):
    ntrk = (ji[:, c.JI_NHAD] + ji[:, c.JI_NFRAG]).astype(np.int64)
    trk_off = offsets_from_counts(ntrk)
    table = np.empty((N_TRACK_COLS, int(trk_off[-1])), dtype=np.float32)
    track_pass(stream_key(key_seed, proc, PASS_TRACKS), first, jet_off, jf, ji, trk_off, table)
    return jagged(trk_off, {name: table[col] for name, col in TRACK_COLUMNS.items()})


def _fatjets(
    key_seed: int,
    proc: int,
    first: int,
    nfat: np.ndarray,
    ff: np.ndarray,
    fi: np.ndarray,
    fp: np.ndarray,
):
    mask = np.arange(c.MAXF)[None, :] < nfat[:, None]
    ffl, fil, fpl = ff[mask], fi[mask], fp[mask]
    fat_off = offsets_from_counts(nfat.astype(np.int64))
    con_off = offsets_from_counts(fil[:, c.FI_NCON].astype(np.int64))
    table = np.empty((N_CON_COLS, int(con_off[-1])), dtype=np.float32)
    constituent_pass(
        stream_key(key_seed, proc, PASS_CONSTITUENTS),
        first,
        fat_off,
        ffl[:, c.FF_PT].astype(np.float64),
        fpl,
        fil[:, c.FI_NPRONG].astype(np.int64),
        con_off,
        table,
    )
    cons = {name: table[col] for name, col in CONSTITUENT_COLUMNS.items()}
    cons["charge"] = table[C_CHARGE].astype(np.int8)
    fields = {
        "pt": ffl[:, c.FF_PT],
        "eta": ffl[:, c.FF_ETA],
        "phi": ffl[:, c.FF_PHI],
        "mass": ffl[:, c.FF_MASS],
        "msd": ffl[:, c.FF_MSD],
        "tau21": ffl[:, c.FF_TAU21],
        "label": fil[:, c.FI_LABEL].astype(np.int8),
    }
    contents = [ak.contents.NumpyArray(np.ascontiguousarray(v)) for v in fields.values()]
    contents.append(jagged(con_off, cons))
    record = ak.contents.RecordArray(contents, [*fields, "constituents"], length=len(ffl))
    return ak.contents.ListOffsetArray(ak.index.Index64(fat_off), record)


def generate_chunk(
    proc: int, seed: int, first: int, n: int, strata: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> tuple[ak.Array, ak.Array, ak.Array]:
    """Events first .. first+n-1 of a sample: (jets, fatjets, truth) awkward arrays."""
    jf = np.zeros((n, c.MAXJ, c.N_JF), dtype=np.float32)
    ji = np.zeros((n, c.MAXJ, c.N_JI), dtype=np.int32)
    ff = np.zeros((n, c.MAXF, c.N_FF), dtype=np.float32)
    fi = np.zeros((n, c.MAXF, c.N_FI), dtype=np.int32)
    fp = np.zeros((n, c.MAXF, c.MAXPRONG, 4), dtype=np.float32)
    njet = np.zeros(n, dtype=np.int64)
    nfat = np.zeros(n, dtype=np.int64)
    truth = np.zeros((n, c.N_T), dtype=np.float64)
    lo, hi, slope = strata
    event_pass(
        stream_key(seed, proc, PASS_EVENT),
        proc,
        first,
        n,
        lo,
        hi,
        slope,
        jf,
        ji,
        njet,
        ff,
        fi,
        fp,
        nfat,
        truth,
    )

    mask = np.arange(c.MAXJ)[None, :] < njet[:, None]
    jfl, jil = jf[mask], ji[mask]
    jet_off = offsets_from_counts(njet)
    fields = {
        "pt": jfl[:, c.JF_PT],
        "eta": jfl[:, c.JF_ETA],
        "phi": jfl[:, c.JF_PHI],
        "mass": jfl[:, c.JF_MASS],
        "hadron_flavour": jil[:, c.JI_HF].astype(np.int8),
        "parton_flavour": jil[:, c.JI_PF].astype(np.int8),
        "is_pileup": jil[:, c.JI_PU].astype(np.bool_),
    }
    contents = [ak.contents.NumpyArray(np.ascontiguousarray(v)) for v in fields.values()]
    contents.append(_tracks(seed, proc, first, jet_off, jfl, jil))
    jets_rec = ak.contents.RecordArray(contents, [*fields, "tracks"], length=len(jfl))
    jets = ak.Array(ak.contents.ListOffsetArray(ak.index.Index64(jet_off), jets_rec))
    fatjets = ak.Array(_fatjets(seed, proc, first, nfat, ff, fi, fp))
    truth_arr = ak.zip(
        {
            "mhh": truth[:, c.T_MHH].astype(np.float32),
            "h1_pt": truth[:, c.T_H1PT].astype(np.float32),
            "h2_pt": truth[:, c.T_H2PT].astype(np.float32),
            "pthat": truth[:, c.T_PTHAT].astype(np.float32),
        }
    )
    return jets, fatjets, truth_arr


def to_batch(
    jets: ak.Array,
    fatjets: ak.Array,
    truth: ak.Array,
    weight: np.ndarray,
    process: str,
    lumi_pb: float,
    source: str,
) -> EventBatch:
    return EventBatch(
        jets=jets,
        weight=weight,
        truth=truth,
        fatjets=fatjets,
        process=process,
        lumi_pb=lumi_pb,
        source=source,
    )


def stream_key(seed: int, proc: int, pass_id: int) -> np.uint64:
    """Kernel stream key as a numpy uint64 (a Python int above 2**63 would not fit int64)."""
    return np.uint64(_stream_key(seed, proc, pass_id))
