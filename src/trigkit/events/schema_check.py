"""Check a Parquet file's Arrow schema against the EventBatch schema; cast what was read.

A file is accepted when every required field of :data:`trigkit.events.schema.COLUMNS` is
present with an acceptable type (any float width for a float field, any integer width for an
integer field, bool for bool), whoever wrote it; extra fields are kept. The first problems
are named in one :class:`TrigkitError` line with the expected type.

``complete=False`` (files trigkit wrote from an EventBatch, which may hold a subset of the
record fields, e.g. samples made for one menu) requires only the top-level columns; every
field present is still type-checked.
"""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np

from trigkit.core.errors import TrigkitError
from trigkit.events.schema import COLUMNS, Leaf, Record, describe

#: dotted leaf path -> (stored dtype, declared dtype), for the leaves that need a cast
Casts = dict[str, tuple[np.dtype, np.dtype]]
_SHOWN = 4


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


def _leaf(where: str, leaf: Leaf, field, problems: list[str], casts: Casts) -> None:
    stored = _arrow_dtype(_storage(field.type))
    if stored is None or not leaf.accepts(stored):
        found = stored if stored is not None else _storage(field.type)
        problems.append(f"field '{where}' is {found}, expected {leaf.dtype}")
    elif field.nullable:
        problems.append(f"field '{where}' may hold missing values, expected {leaf.dtype}")
    elif stored != leaf.dtype:
        casts[where] = (stored, leaf.dtype)


def _record(
    where: str, rec: Record, field, problems: list[str], casts: Casts, complete: bool
) -> None:
    import pyarrow as pa

    t = _storage(field.type)
    if rec.jagged:
        if not (pa.types.is_list(t) or pa.types.is_large_list(t)):
            problems.append(f"field '{where}' is {t}, expected {describe(rec)}")
            return
        field, t = t.value_field, _storage(t.value_type)
    if not pa.types.is_struct(t) or field.nullable:
        problems.append(
            f"field '{where}' is {'nullable ' * field.nullable}{t}, expected {describe(rec)}"
        )
        return
    present = {t.field(i).name: t.field(i) for i in range(t.num_fields)}
    if rec.any_bool:
        for name, sub in present.items():
            _leaf(f"{where}.{name}", Leaf(np.dtype(bool)), sub, problems, casts)
    for name, node in rec.fields.items():
        if name in present or complete:
            _node(f"{where}.{name}", node, present.get(name), problems, casts, complete)


def _node(
    where: str, node: Leaf | Record, field, problems: list[str], casts: Casts, complete: bool
) -> None:
    if field is None:
        problems.append(f"missing field '{where}' ({describe(node)})")
    elif isinstance(node, Leaf):
        _leaf(where, node, field, problems, casts)
    else:
        _record(where, node, field, problems, casts, complete)


def check_arrow(schema, path: Path | str, *, complete: bool = True) -> Casts:
    """The casts reading a file of Arrow ``schema`` needs; TrigkitError naming its bad fields."""
    problems: list[str] = []
    casts: Casts = {}
    names = set(schema.names)
    for col in COLUMNS:
        if col.name in names:
            _node(col.name, col.node, schema.field(col.name), problems, casts, complete)
        elif col.required:
            _node(col.name, col.node, None, problems, casts, complete)
    if problems:
        more = f" (and {len(problems) - _SHOWN} more)" if len(problems) > _SHOWN else ""
        raise TrigkitError(
            f"{path}: not EventBatch events: {'; '.join(problems[:_SHOWN])}{more}; "
            "see 'Event files' in README.md for the schema"
        )
    return casts


def conform(arr: ak.Array, casts: Casts, path: Path | str) -> ak.Array:
    """``arr`` with the leaves in ``casts`` cast to their declared dtypes (those present)."""
    for where, (stored, declared) in casts.items():
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
