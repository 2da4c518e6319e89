"""HDF5 in the layout of the ATLAS flavour-tagging tools (training-dataset-dumper, umami, salt).

File layout (energies and momenta in MeV on disk, GeV in :class:`EventBatch`):

``jets``   (n_jets,) compound, one row per jet; jets of one event share ``eventNumber``.
``tracks`` (n_jets, max_tracks) compound, row i belongs to jet i; padding rows have
           ``valid == False``.
``events`` (n_events,) compound (trigkit addition; optional on read): ``eventNumber``,
           ``mcEventWeight`` and truth; ``triggers`` (n_events, n_bits) bool with the bit names
           in ``trigger_names`` (a compound type cannot hold NanoAOD's ~1000 HLT/L1 bits).
           Without ``events`` (a plain dumper file) events are the distinct ``eventNumber``
           values in order of first appearance, the weight is the first jet's
           ``mcEventWeight`` (1 if absent) and the truth is NaN.
``fatjets`` / ``constituents`` / ``trigobj``: trigkit additions with the same pattern (objects
           carry ``eventNumber``; ``constituents`` is padded per fat jet with ``valid``).

Column names are mapped in the one table in :mod:`trigkit.events.hdf5_layout`; nothing else is
renamed.  Extra numeric object columns (tagger scores such as ``btag`` or ``GN2v01_pb``) pass
through under their own names.
``HadronConeExclTruthLabelID`` 15 (tau) reads as 0 (light), as CMS ``hadronFlavour`` counts it.
Impact parameters: the dumper's ``d0``/``z0SinTheta`` are signed geometrically; on read they
take the sign of the lifetime-signed ``IP3D_signed_*_significance`` so that ``d0``/``z0`` are
lifetime-signed as :mod:`trigkit.events.batch` requires; ``z0 = z0SinTheta * cosh(eta_track)``
with ``eta_track = jet eta + deta``.
"""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np

from trigkit.core.errors import TrigkitError
from trigkit.events.batch import EventBatch
from trigkit.events.hdf5_layout import (
    CONSTITUENT_COLUMNS,
    EVENT_COLUMNS,
    EVENT_NUMBER,
    FATJET_COLUMNS,
    JET_COLUMNS,
    MEV,
    TRACK_COLUMNS,
    TRIGGER_NAMES,
    TRIGGERS,
    TRIGOBJ_COLUMNS,
    VALID,
    WEIGHT,
    Column,
)
from trigkit.events.hdf5_write import write_hdf5

__all__ = ["read_hdf5", "write_hdf5"]
_TABLES = (
    JET_COLUMNS,
    TRACK_COLUMNS,
    EVENT_COLUMNS,
    FATJET_COLUMNS,
    CONSTITUENT_COLUMNS,
    TRIGOBJ_COLUMNS,
)
_READ_COLUMNS = {c.column for table in _TABLES for c in table} | {
    EVENT_NUMBER,
    WEIGHT,
    VALID,
    "ptfrac",
}


# ---- reading --------------------------------------------------------------------------------
def read_hdf5(path: str | Path) -> EventBatch:
    """Read an ATLAS-style flavour-tagging HDF5 file (see the module docstring) into one batch.

    Raises :class:`TrigkitError` naming the file for a missing, corrupt or truncated file, a file
    without a ``jets`` dataset, or datasets whose shape/columns do not fit the layout.
    """
    import h5py

    path = Path(path)
    if not path.exists():
        raise TrigkitError(f"{path}: no such file")
    if not path.is_file():
        raise TrigkitError(f"{path}: not a file")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise TrigkitError(
            f"{path}: not a readable HDF5 file, truncated or corrupt ({_line(exc)})"
        ) from exc
    with f:
        try:
            return _read(f, path)
        except TrigkitError:
            raise
        except (OSError, KeyError, ValueError, RuntimeError) as exc:
            raise TrigkitError(
                f"{path}: cannot read HDF5 data, file truncated or corrupt ({_line(exc)})"
            ) from exc


def _line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".strip()


def _table(
    f: object, name: str, path: Path, required: tuple[str, ...], ndim: int = 1
) -> np.ndarray:
    import h5py

    if name not in f:  # type: ignore[operator]
        found = ", ".join(f.keys()) or "nothing"  # type: ignore[attr-defined]
        raise TrigkitError(
            f"{path}: no '{name}' dataset (found: {found}); "
            f"ATLAS flavour-tagging HDF5 needs '{name}'"
        )
    ds = f[name]  # type: ignore[index]
    if not isinstance(ds, h5py.Dataset) or ds.dtype.names is None or ds.ndim != ndim:
        raise TrigkitError(
            f"{path}: '{name}' must be a {ndim}-d compound dataset (one column per variable)"
        )
    missing = [c for c in required if c not in ds.dtype.names]
    if missing:
        raise TrigkitError(f"{path}: '{name}' has no column {', '.join(missing)}")
    for column in (c for c in ds.dtype.names if c in _READ_COLUMNS):  # others: ignored if odd
        dt = ds.dtype[column]
        if dt.kind not in "fiub" or dt.shape != ():
            raise TrigkitError(
                f"{path}: '{name}' column {column} has type {dt}, expected one number per row"
            )
    return ds[...]


def _lookup(known: np.ndarray, wanted: np.ndarray, path: Path, what: str) -> np.ndarray:
    sorter = np.argsort(known, kind="stable")
    pos = np.clip(np.searchsorted(known, wanted, sorter=sorter), 0, max(len(known) - 1, 0))
    idx = sorter[pos] if len(known) else np.zeros(len(wanted), dtype=np.int64)
    bad = ~(known[idx] == wanted) if len(known) else np.ones(len(wanted), dtype=bool)
    if bad.any():
        raise TrigkitError(
            f"{path}: {what} eventNumber {wanted[bad][0]} is not in the 'events' table"
        )
    return idx


def _event_index(
    f: object, jet_events: np.ndarray, path: Path
) -> tuple[np.ndarray, np.ndarray | None]:
    """Event index of each jet, and the ``events`` table (None for a plain dumper file)."""
    if "events" not in f:  # type: ignore[operator]
        _, first, inverse = np.unique(jet_events, return_index=True, return_inverse=True)
        rank = np.empty(len(first), dtype=np.int64)
        rank[np.argsort(first, kind="stable")] = np.arange(len(first))
        return rank[inverse.reshape(-1)], None
    events = _table(f, "events", path, (EVENT_NUMBER,))
    numbers = events[EVENT_NUMBER]
    if len(np.unique(numbers)) != len(numbers):
        raise TrigkitError(f"{path}: 'events' repeats an eventNumber; each event must appear once")
    return _lookup(numbers, jet_events, path, "a jet's"), events


def _group(rows: np.ndarray, idx: np.ndarray, n_events: int) -> tuple[np.ndarray, np.ndarray]:
    """Order rows by event (stable) and return (order, counts per event)."""
    return np.argsort(idx, kind="stable"), np.bincount(idx, minlength=n_events)


def _columns(
    table: np.ndarray, columns: tuple[Column, ...], defaults: dict[str, float]
) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    names = table.dtype.names or ()
    for c in columns:
        dtype = np.dtype(c.dtype)
        if c.column in names:
            values = table[c.column]
            out[c.field] = (
                (values / c.scale).astype(dtype) if c.scale != 1 else values.astype(dtype)
            )
        else:
            out[c.field] = np.full(len(table), defaults.get(c.field, 0), dtype=dtype)
    return out


def _passthrough(table: np.ndarray, skip: set[str]) -> dict[str, np.ndarray]:
    """Unmapped numeric columns under their own names (float16, common in dumper files ->
    float32)."""
    out = {}
    for name in table.dtype.names or ():
        dt = table.dtype[name]
        if name not in skip and dt.shape == () and dt.kind in "fiub":
            half = dt.kind == "f" and dt.itemsize < 4
            out[name] = table[name].astype(np.float32 if half else dt.newbyteorder("="))
    return out


def _valid_rows(
    f: object, path: Path, name: str, parent: str, order: np.ndarray, n_parent: int
) -> tuple[np.ndarray, np.ndarray] | None:
    """The valid rows of a padded (n_parent, max) table such as ``tracks``, in ``order``, and
    their count per parent object; None when the file has no such table."""
    if name not in f:  # type: ignore[operator]
        return None
    table = _table(f, name, path, (VALID,), ndim=2)
    if len(table) != n_parent:
        raise TrigkitError(
            f"{path}: '{name}' has {len(table)} rows but '{parent}' has {n_parent}; they must match"
        )
    table = table[order]
    valid = table[VALID].astype(bool)
    return table[valid], valid.sum(axis=1)


def _tracks(
    f: object, path: Path, order: np.ndarray, n_jets: int, jet_eta: np.ndarray, jet_pt: np.ndarray
) -> ak.Array:
    found = _valid_rows(f, path, "tracks", "jets", order, n_jets)
    if found is None:
        empty = ak.zip({c.field: np.zeros(0, np.float32) for c in TRACK_COLUMNS})
        return ak.unflatten(empty, np.zeros(n_jets, dtype=np.int64))
    rows, counts = found
    cols = {k: v.astype(np.float64) for k, v in _columns(rows, TRACK_COLUMNS, {}).items()}
    names = rows.dtype.names or ()
    for c in TRACK_COLUMNS:
        if c.column not in names:
            cols[c.field][:] = np.nan
    if "pt" not in names and "ptfrac" in names:
        cols["pt"] = rows["ptfrac"].astype(np.float64) * np.repeat(jet_pt, counts)
    eta_trk = np.repeat(jet_eta, counts) + cols["deta"]
    cols["z0"] = cols["z0"] * np.cosh(eta_trk)
    for ip in ("d0", "z0"):
        sig = cols[f"{ip}_sig"]
        cols[ip] = np.where(np.isfinite(sig), np.copysign(np.abs(cols[ip]), sig), cols[ip])
    return ak.unflatten(ak.zip({k: v.astype(np.float32) for k, v in cols.items()}), counts)


def _flavour(label: np.ndarray) -> np.ndarray:
    out = np.where(np.isin(label, (0, 4, 5)), label, np.where(label == 15, 0, -1))
    return out.astype(np.int8)


def _read(f: object, path: Path) -> EventBatch:
    jt = _table(f, "jets", path, (EVENT_NUMBER, "pt", "eta", "phi"))
    idx, events = _event_index(f, jt[EVENT_NUMBER], path)
    n_events = len(events) if events is not None else (int(idx.max()) + 1 if len(idx) else 0)
    order, counts = _group(jt, idx, n_events)
    jt = jt[order]
    jet_cols: dict[str, object] = dict(
        _columns(jt, JET_COLUMNS, {"hadron_flavour": -1, "parton_flavour": -1})
    )
    if "HadronConeExclTruthLabelID" in (jt.dtype.names or ()):
        jet_cols["hadron_flavour"] = _flavour(jt["HadronConeExclTruthLabelID"])
    parton = np.asarray(jet_cols["parton_flavour"])
    jet_cols["parton_flavour"] = np.where(parton == -1, -1, np.abs(parton)).astype(np.int8)
    jet_cols["tracks"] = _tracks(
        f, path, order, len(jt), jt["eta"].astype(np.float64), jt["pt"] / MEV
    )
    skip = {c.column for c in JET_COLUMNS} | {EVENT_NUMBER, WEIGHT}
    jet_cols.update(_passthrough(jt, skip))
    jets = ak.unflatten(ak.zip(jet_cols, depth_limit=1), counts)
    jets = jets[ak.argsort(jets.pt, axis=1, ascending=False, stable=True)]
    weight, truth = _event_fields(events, jt, counts)
    numbers = events[EVENT_NUMBER] if events is not None else None
    return EventBatch(
        jets=jets,
        weight=weight,
        truth=truth,
        fatjets=_fatjets(f, path, numbers, n_events),
        triggers=_triggers(f, path, n_events) if events is not None else {},
        trigobj=_objects(f, path, "trigobj", TRIGOBJ_COLUMNS, numbers, n_events),
        process=str(f.attrs.get("process", "hdf5")),  # type: ignore[attr-defined]
        lumi_pb=float(f.attrs.get("lumi_pb", 1.0)),  # type: ignore[attr-defined]
        source=str(path),
    )


def _triggers(f: object, path: Path, n_events: int) -> dict[str, np.ndarray]:
    if TRIGGERS not in f:  # type: ignore[operator]
        return {}
    bits = f[TRIGGERS][...]  # type: ignore[index]
    names = [n.decode() if isinstance(n, bytes) else str(n) for n in f[TRIGGER_NAMES][...]]  # type: ignore[index]
    if bits.shape != (n_events, len(names)):
        raise TrigkitError(
            f"{path}: 'triggers' has shape {bits.shape}, expected ({n_events}, {len(names)})"
        )
    return {name: bits[:, j].astype(bool) for j, name in enumerate(names)}


def _event_fields(
    events: np.ndarray | None, jt: np.ndarray, counts: np.ndarray
) -> tuple[np.ndarray, ak.Array]:
    n = len(counts)
    if events is None:
        first = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        has_w = WEIGHT in (jt.dtype.names or ())
        weight = jt[WEIGHT][first].astype(np.float64) if has_w and n else np.ones(n)
        nan = np.full(n, np.nan)
        return weight, ak.zip({c.field: nan.copy() for c in EVENT_COLUMNS})
    names = events.dtype.names or ()
    weight = events[WEIGHT].astype(np.float64) if WEIGHT in names else np.ones(n)
    truth: dict[str, np.ndarray] = _columns(
        events, EVENT_COLUMNS, {c.field: np.nan for c in EVENT_COLUMNS}
    )
    truth.update(_passthrough(events, {c.column for c in EVENT_COLUMNS} | {EVENT_NUMBER, WEIGHT}))
    return weight, ak.zip(truth)


def _objects(
    f: object,
    path: Path,
    name: str,
    columns: tuple[Column, ...],
    numbers: np.ndarray | None,
    n_events: int,
    children: str | None = None,
) -> ak.Array | None:
    if name not in f or numbers is None:  # type: ignore[operator]
        return None
    table = _table(f, name, path, (EVENT_NUMBER,) + tuple(c.column for c in columns[:1]))
    idx = _lookup(numbers, table[EVENT_NUMBER], path, f"a {name} row's")
    order, counts = _group(table, idx, n_events)
    table = table[order]
    cols: dict[str, object] = dict(_columns(table, columns, {}))
    cols.update(_passthrough(table, {c.column for c in columns} | {EVENT_NUMBER}))
    if children is not None:
        cols[children] = _constituents(f, path, order, len(table))
    return ak.unflatten(ak.zip(cols, depth_limit=1), counts)


def _fatjets(f: object, path: Path, numbers: np.ndarray | None, n_events: int) -> ak.Array | None:
    return _objects(f, path, "fatjets", FATJET_COLUMNS, numbers, n_events, children="constituents")


def _constituents(f: object, path: Path, order: np.ndarray, n_fatjets: int) -> ak.Array:
    found = _valid_rows(f, path, "constituents", "fatjets", order, n_fatjets)
    if found is None:
        empty = ak.zip({c.field: np.zeros(0, np.dtype(c.dtype)) for c in CONSTITUENT_COLUMNS})
        return ak.unflatten(empty, np.zeros(n_fatjets, dtype=np.int64))
    rows, counts = found
    return ak.unflatten(ak.zip(_columns(rows, CONSTITUENT_COLUMNS, {})), counts)
