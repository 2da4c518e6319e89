"""Write an :class:`EventBatch` as ATLAS flavour-tagging HDF5 (layout:
:mod:`trigkit.events.hdf5`)."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np

from trigkit.core.atomic import atomic_path
from trigkit.core.errors import TrigkitError
from trigkit.events.batch import EventBatch
from trigkit.events.hdf5_layout import (
    CONSTITUENT_COLUMNS,
    EVENT_COLUMNS,
    EVENT_NUMBER,
    FATJET_COLUMNS,
    JET_COLUMNS,
    TRACK_COLUMNS,
    TRIGGER_NAMES,
    TRIGGERS,
    TRIGOBJ_COLUMNS,
    VALID,
    WEIGHT,
    Column,
)


def _record_type(array: ak.Array) -> ak.types.RecordType:
    t = array.type.content
    while not isinstance(t, ak.types.RecordType):
        t = t.content
    return t


def _extras(records: ak.Array, mapped: tuple[Column, ...], skip: tuple[str, ...]) -> list[Column]:
    """Numeric scalar fields of event-major ``records`` that the mapping table does not name."""
    names = {c.field for c in mapped} | set(skip)
    rtype = _record_type(records)
    out = []
    for name, t in zip(rtype.fields, rtype.contents, strict=True):
        if name not in names and isinstance(t, ak.types.NumpyType):
            dt = np.dtype(ak.types.numpytype.primitive_to_dtype(t.primitive))
            if dt.kind in "fiub":
                out.append(Column(name, name, dt.str))
    return out


def _flat_table(objs: ak.Array, columns: list[Column], event_numbers: np.ndarray) -> np.ndarray:
    """Event-major objects (var * record) -> one structured row per object."""
    flat = ak.flatten(objs, axis=1)
    dtype = [(EVENT_NUMBER, "i8")] + [(c.column, c.dtype) for c in columns]
    table = np.zeros(len(flat), dtype=dtype)
    table[EVENT_NUMBER] = np.repeat(event_numbers, ak.to_numpy(ak.num(objs, axis=1)))
    for c in columns:
        table[c.column] = (
            ak.to_numpy(flat[c.field]) * c.scale if c.scale != 1 else ak.to_numpy(flat[c.field])
        )
    return table


def _padded_table(children: ak.Array, columns: list[Column], width: int) -> np.ndarray:
    """Per-object lists (n_obj * var * record) -> (n_obj, width) structured array with ``valid``."""
    counts = ak.to_numpy(ak.num(children, axis=1))
    if counts.size and counts.max() > width:
        raise TrigkitError(f"an object has {counts.max()} children, more than max width {width}")
    table = np.zeros(
        (len(children), width), dtype=[(VALID, "?")] + [(c.column, c.dtype) for c in columns]
    )
    table[VALID] = np.arange(width)[None, :] < counts[:, None]
    for c in columns:
        padded = ak.fill_none(ak.pad_none(children[c.field], width, axis=1, clip=True), 0)
        values = ak.to_numpy(padded).reshape(len(children), width)
        table[c.column] = values * c.scale if c.scale != 1 else values
    return table


def _track_z0_to_file(jets_flat: ak.Array, tracks: ak.Array) -> ak.Array:
    eta_trk = jets_flat.eta + tracks.deta
    return ak.with_field(tracks, tracks.z0 / np.cosh(eta_trk), "z0")


def write_hdf5(batch: EventBatch, path: str | Path, *, max_tracks: int | None = None) -> Path:
    """Write ``batch`` atomically; ``max_tracks`` defaults to the largest track count (>= 1)."""
    import h5py

    path = Path(path)
    n = len(batch)
    event_numbers = np.arange(n, dtype=np.int64)
    jets = batch.jets
    extras = _extras(jets, JET_COLUMNS, ("tracks",))
    jet_table = _flat_table(jets, list(JET_COLUMNS) + extras, event_numbers)
    flat_jets = ak.flatten(jets, axis=1)
    has_tracks = "tracks" in jets.fields
    if has_tracks:
        tracks = _track_z0_to_file(flat_jets, flat_jets.tracks)
        ntrk = ak.to_numpy(ak.num(tracks, axis=1))
        width = max_tracks or max(1, int(ntrk.max()) if ntrk.size else 1)
        track_table = _padded_table(tracks, list(TRACK_COLUMNS), width)
        ptfrac = np.where(
            jet_table["pt"][:, None] > 0,
            track_table["pt"]
            / np.where(jet_table["pt"][:, None] > 0, jet_table["pt"][:, None], 1.0),
            0.0,
        )
        track_table = _add_field(track_table, "ptfrac", ptfrac.astype("f4"))
    events = _events_table(batch, event_numbers)
    jet_table = _add_field(
        jet_table, WEIGHT, np.repeat(batch.weight, ak.to_numpy(ak.num(jets, axis=1)))
    )
    with atomic_path(path, suffix=".h5") as tmp, h5py.File(tmp, "w") as f:
        f.attrs["process"] = batch.process
        f.attrs["lumi_pb"] = batch.lumi_pb
        f.attrs["units"] = "MeV"
        f.create_dataset("jets", data=jet_table, compression="lzf")
        if has_tracks:
            f.create_dataset("tracks", data=track_table, compression="lzf")
        f.create_dataset("events", data=events, compression="lzf")
        if batch.triggers:
            bits = np.stack([np.asarray(v, dtype=bool) for v in batch.triggers.values()], axis=1)
            f.create_dataset(TRIGGERS, data=bits, compression="lzf")
            f.create_dataset(
                TRIGGER_NAMES, data=np.array(list(batch.triggers), dtype=h5py.string_dtype())
            )
        if batch.fatjets is not None:
            _write_fatjets(f, batch.fatjets, event_numbers)
        if batch.trigobj is not None:
            extra = _extras(batch.trigobj, TRIGOBJ_COLUMNS, ())
            table = _flat_table(batch.trigobj, list(TRIGOBJ_COLUMNS) + extra, event_numbers)
            f.create_dataset("trigobj", data=table, compression="lzf")
    return path


def _events_table(batch: EventBatch, event_numbers: np.ndarray) -> np.ndarray:
    """Weights and truth; truth fields beyond the mapped ones (e.g. ``pthat``) pass through."""
    truth = batch.truth
    extras = _extras(truth, EVENT_COLUMNS, ()) if truth.fields else []
    columns = [(EVENT_NUMBER, "i8"), (WEIGHT, "f8")] + [(c.column, c.dtype) for c in EVENT_COLUMNS]
    events = np.zeros(len(batch), dtype=columns + [(c.column, c.dtype) for c in extras])
    events[EVENT_NUMBER] = event_numbers
    events[WEIGHT] = batch.weight
    for c in EVENT_COLUMNS:
        present = c.field in truth.fields
        values = ak.to_numpy(truth[c.field]).astype(np.float64) if present else np.nan
        events[c.column] = values * c.scale
    for c in extras:
        events[c.column] = ak.to_numpy(truth[c.field])
    return events


def _write_fatjets(f: object, fatjets: ak.Array, event_numbers: np.ndarray) -> None:
    extras = _extras(fatjets, FATJET_COLUMNS, ("constituents",))
    table = _flat_table(fatjets, list(FATJET_COLUMNS) + extras, event_numbers)
    f.create_dataset("fatjets", data=table, compression="lzf")  # type: ignore[attr-defined]
    if "constituents" in fatjets.fields:
        cons = ak.flatten(fatjets, axis=1).constituents
        ncons = ak.to_numpy(ak.num(cons, axis=1))
        width = max(1, int(ncons.max()) if ncons.size else 1)
        f.create_dataset(  # type: ignore[attr-defined]
            "constituents",
            data=_padded_table(cons, list(CONSTITUENT_COLUMNS), width),
            compression="lzf",
        )


def _add_field(table: np.ndarray, name: str, values: np.ndarray) -> np.ndarray:
    dtype = table.dtype.descr + [(name, values.dtype.str)]
    out = np.zeros(table.shape, dtype=dtype)
    for field in table.dtype.names or ():
        out[field] = table[field]
    out[name] = values
    return out
