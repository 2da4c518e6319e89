"""Check a Parquet file's Arrow schema against the EventBatch schema; fix up what was read.

A file is accepted when every required field of :data:`trigkit.events.schema.COLUMNS` is
present with an acceptable type (any float width for a float field, any integer width for an
integer field, bool for bool), whoever wrote it; extra fields are kept. The first problems
are named in one :class:`TrigkitError` line with the expected type.

``complete=False`` (files trigkit wrote from an EventBatch, which may hold a subset of the
record fields, e.g. samples made for one menu) requires only the top-level columns; every
field present is still type-checked.

Plain Arrow writers (pyarrow, pandas) mark every field nullable. Such a field is accepted when
the data holds no missing value (checked on read, :func:`strip_nullable`); an awkward option
type (``?float32``, an Arrow extension type) is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import awkward as ak
import numpy as np

from trigkit.core.errors import TrigkitError
from trigkit.events.schema import COLUMNS, Leaf, Record, describe

_SHOWN = 4


@dataclass
class FileCheck:
    """What reading a checked file needs: casts of stored dtypes to the declared ones, and the
    nullable fields whose data must hold no missing value."""

    casts: dict[str, tuple[np.dtype, np.dtype]] = field(default_factory=dict)
    nullable: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)
    complete: bool = True


def _storage(t):
    import pyarrow as pa

    while isinstance(t, pa.ExtensionType):
        t = t.storage_type
    return t


def _arrow_dtype(t) -> np.dtype | None:
    import pyarrow as pa

    if pa.types.is_boolean(t) or pa.types.is_integer(t) or pa.types.is_floating(t):
        return np.dtype(t.to_pandas_dtype())
    return None


def _null_ok(where: str, f, what: str, chk: FileCheck) -> bool:
    """A nullable plain-Arrow field is noted (its data is checked on read); an awkward option
    type is a problem."""
    import pyarrow as pa

    if not f.nullable:
        return True
    if isinstance(f.type, pa.ExtensionType):
        chk.problems.append(f"field '{where}' is an option type (may be None), expected {what}")
        return False
    chk.nullable.add(where)
    return True


def _leaf(where: str, leaf: Leaf, f, chk: FileCheck) -> None:
    stored = _arrow_dtype(_storage(f.type))
    if stored is None or not leaf.accepts(stored):
        found = stored if stored is not None else _storage(f.type)
        chk.problems.append(f"field '{where}' is {found}, expected {leaf.dtype}")
    elif _null_ok(where, f, str(leaf.dtype), chk) and stored != leaf.dtype:
        chk.casts[where] = (stored, leaf.dtype)


def _record(where: str, rec: Record, f, chk: FileCheck) -> None:
    import pyarrow as pa

    t = _storage(f.type)
    if rec.jagged:
        if not (pa.types.is_list(t) or pa.types.is_large_list(t)):
            chk.problems.append(f"field '{where}' is {t}, expected {describe(rec)}")
            return
        if not _null_ok(where, f, describe(rec), chk):
            return
        f, t = t.value_field, _storage(t.value_type)
    if not pa.types.is_struct(t):
        chk.problems.append(f"field '{where}' is {t}, expected {describe(rec)}")
        return
    if not _null_ok(where, f, describe(rec), chk):
        return
    present = {t.field(i).name: t.field(i) for i in range(t.num_fields)}
    if rec.any_bool:
        for name, sub in present.items():
            _leaf(f"{where}.{name}", Leaf(np.dtype(bool)), sub, chk)
    for name, node in rec.fields.items():
        if name in present or (chk.complete and name not in rec.optional):
            _node(f"{where}.{name}", node, present.get(name), chk)


def _node(where: str, node: Leaf | Record, f, chk: FileCheck) -> None:
    if f is None:
        chk.problems.append(f"missing field '{where}' ({describe(node)})")
    elif isinstance(node, Leaf):
        _leaf(where, node, f, chk)
    else:
        _record(where, node, f, chk)


def check_arrow(schema, path: Path | str, *, complete: bool = True) -> FileCheck:
    """What reading a file of Arrow ``schema`` needs; TrigkitError naming its bad fields."""
    chk = FileCheck(complete=complete)
    names = set(schema.names)
    for col in COLUMNS:
        if col.name in names:
            _node(col.name, col.node, schema.field(col.name), chk)
        elif col.required:
            _node(col.name, col.node, None, chk)
    if chk.problems:
        n = len(chk.problems)
        more = f" (and {n - _SHOWN} more)" if n > _SHOWN else ""
        raise TrigkitError(
            f"{path}: not EventBatch events: {'; '.join(chk.problems[:_SHOWN])}{more}; "
            "see 'Event files' in README.md for the schema"
        )
    return chk


def _first_null(arr, where: str, paths: set[str]) -> str | None:
    """The first of ``paths`` (at or below ``where``) at which ``arr`` holds a null."""
    import pyarrow as pa

    if where in paths and arr.null_count:
        return where
    t = arr.type
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return _first_null(arr.flatten(), where, paths)
    if pa.types.is_struct(t):
        for i in range(t.num_fields):
            sub = f"{where}.{t.field(i).name}"
            if any(p == sub or p.startswith(sub + ".") for p in paths):
                found = _first_null(arr.field(i), sub, paths)
                if found:
                    return found
    return None


def _not_null(f, where: str, paths: set[str]):
    """``f`` with the nullability of ``paths`` (and of everything inside them) removed."""
    import pyarrow as pa

    t = f.type
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        item = _not_null(t.value_field, where, paths)
        t = pa.large_list(item) if pa.types.is_large_list(t) else pa.list_(item)
    elif pa.types.is_struct(t):
        t = pa.struct([_not_null(s, f"{where}.{s.name}", paths) for s in t])
    return pa.field(f.name, t, nullable=f.nullable and where not in paths)


def strip_nullable(table, chk: FileCheck, path: Path | str):
    """``table`` with the checked nullable fields made non-nullable; TrigkitError naming the
    first that holds a missing value."""
    import pyarrow as pa

    if not chk.nullable:
        return table
    for name in table.schema.names:
        for chunk in table.column(name).chunks:
            bad = _first_null(chunk, name, chk.nullable)
            if bad:
                raise TrigkitError(
                    f"{path}: field '{bad}' holds missing values (null); EventBatch fields "
                    "must all be set"
                )
    schema = pa.schema(
        [_not_null(f, f.name, chk.nullable) for f in table.schema], metadata=table.schema.metadata
    )
    return table.cast(schema)


def conform(arr: ak.Array, chk: FileCheck, path: Path | str) -> ak.Array:
    """``arr`` with the leaves in ``chk.casts`` cast to their declared dtypes (those present)."""
    for where, (stored, declared) in chk.casts.items():
        keys = tuple(where.split("."))
        try:
            values = arr[keys]
        except (KeyError, ValueError, IndexError):
            continue  # not read (a projected read)
        if declared.kind in "iu":
            _check_range(values, where, stored, declared, path)
        arr = ak.with_field(arr, ak.values_astype(values, declared), where=keys)
    return arr


def _check_range(values: ak.Array, where: str, stored, declared, path: Path | str) -> None:
    flat = ak.to_numpy(ak.flatten(values, axis=None))
    if flat.size == 0:
        return
    info = np.iinfo(declared)
    lo, hi = flat.min(), flat.max()
    if lo < info.min or hi > info.max:
        raise TrigkitError(
            f"{path}: field '{where}' ({stored}) holds {lo}..{hi}, outside the "
            f"{declared} range {info.min}..{info.max} it is read as"
        )
