"""The on-disk EventBatch schema, derived from :mod:`trigkit.events.batch`, and its check.

Field names come from ``batch.py``: the top-level fields are the array fields of the
:class:`EventBatch` dataclass (those without a default are required), the record fields are its
``*_FIELDS`` tuples. This module adds only what ``batch.py`` states in prose: each leaf's dtype
(:data:`DTYPES`) and which record nests which (:data:`CHILDREN`). A name added to a tuple
without a dtype here fails at import, so a new field cannot slip past the check.

:func:`check_arrow` checks a Parquet footer's Arrow schema against it without reading data;
:func:`conform` casts an awkward array read from such a file to the declared dtypes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

import numpy as np

from trigkit.events import batch as _batch
from trigkit.events.batch import EventBatch

Kind = Literal["float", "int", "bool"]

#: the NanoAOD reader's trigger-object fields (batch.py documents them in prose only)
TRIGOBJ_FIELDS = ("pt", "eta", "phi", "id")

#: dtype of every leaf, by dotted path; leaves not listed are float32
DTYPES: dict[str, str] = {
    "jets.hadron_flavour": "int8",
    "jets.parton_flavour": "int8",
    "jets.is_pileup": "bool",
    "fatjets.label": "int8",
    "fatjets.constituents.charge": "int8",
    "weight": "float64",
    "trigobj.id": "int32",
    "l1jets.hadron_flavour": "int8",
    "l1jets.parton_flavour": "int8",
    "l1jets.is_pileup": "bool",
}

#: record fields per top-level field, and the jagged children of a record
RECORDS: dict[str, tuple[str, ...]] = {
    "jets": _batch.JET_FIELDS,
    "jets.tracks": _batch.TRACK_FIELDS,
    "fatjets": _batch.FATJET_FIELDS,
    "fatjets.constituents": _batch.CONSTITUENT_FIELDS,
    "truth": _batch.TRUTH_FIELDS,
    "trigobj": TRIGOBJ_FIELDS,
    "l1jets": _batch.L1JET_FIELDS + _batch.L1JET_TAGGER_FIELDS,
    "l1jets.tracks": _batch.TRACK_FIELDS,
}
CHILDREN = {"jets": "tracks", "fatjets": "constituents", "l1jets": "tracks"}
#: record fields checked only where a file has them (l1jets of readers without an L1 tracker)
OPTIONAL: dict[str, frozenset[str]] = {
    "l1jets": frozenset((*_batch.L1JET_TAGGER_FIELDS, "tracks")),
}
#: top-level fields that are one record per event (the others are var * record)
SCALAR_RECORDS = ("truth", "triggers")
#: EventBatch fields that are not columns of the file
NOT_COLUMNS = ("process", "lumi_pb", "source")


@dataclass(frozen=True)
class Leaf:
    """A numeric column: its declared dtype and the kinds of stored dtype accepted for it."""

    dtype: np.dtype

    @property
    def kind(self) -> Kind:
        return "bool" if self.dtype == np.bool_ else "int" if self.dtype.kind == "i" else "float"

    def accepts(self, stored: np.dtype) -> bool:
        if self.kind == "bool":
            return stored == np.bool_
        if self.kind == "int":
            return stored.kind in "iu"
        return stored.kind == "f"


@dataclass(frozen=True)
class Record:
    """A record of named fields; ``jagged``: a variable-length list of them per parent."""

    fields: dict[str, Leaf | Record]
    jagged: bool
    any_bool: bool = False  # triggers: any field names, each a bool
    optional: frozenset[str] = frozenset()  # fields checked only where present


@dataclass(frozen=True)
class Column:
    name: str
    node: Leaf | Record
    required: bool


def _leaf(path: str) -> Leaf:
    return Leaf(np.dtype(DTYPES.get(path, "float32")))


def _record(path: str) -> Record:
    if path not in RECORDS:
        raise RuntimeError(f"events schema: no field list for {path!r} in RECORDS")
    fields: dict[str, Leaf | Record] = {n: _leaf(f"{path}.{n}") for n in RECORDS[path]}
    child = CHILDREN.get(path)
    if child is not None:
        fields[child] = _record(f"{path}.{child}")
    jagged = path.split(".")[0] not in SCALAR_RECORDS
    return Record(fields, jagged=jagged, optional=OPTIONAL.get(path, frozenset()))


def _column(f: dataclasses.Field) -> Column:
    required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    if f.name == "weight":
        node: Leaf | Record = _leaf("weight")
    elif f.name == "triggers":
        node = Record({}, jagged=False, any_bool=True)
    else:
        node = _record(f.name)
    return Column(f.name, node, required)


def _columns() -> tuple[Column, ...]:
    fields = [f for f in dataclasses.fields(EventBatch) if f.name not in NOT_COLUMNS]
    unknown = set(DTYPES) - set(_leaf_paths())
    if unknown:
        raise RuntimeError(f"events schema: DTYPES names unknown fields {sorted(unknown)}")
    return tuple(_column(f) for f in fields)


def _leaf_paths() -> list[str]:
    out = ["weight"]
    for path, names in RECORDS.items():
        out += [f"{path}.{n}" for n in names]
    return out


COLUMNS: tuple[Column, ...] = _columns()


def describe(node: Leaf | Record) -> str:
    """The awkward-style type of ``node``, e.g. ``var * {pt: float32, ...}``."""
    if isinstance(node, Leaf):
        return str(node.dtype)
    if node.any_bool:
        return "{<name>: bool, ...}"
    inner = ", ".join(f"{k}: {describe(v)}" for k, v in node.fields.items())
    return ("var * " if node.jagged else "") + "{" + inner + "}"


def leaf_table() -> list[tuple[str, str, bool]]:
    """(dotted field, type, required) for every column and leaf: the README's schema table."""
    rows: list[tuple[str, str, bool]] = []

    def walk(prefix: str, node: Leaf | Record, required: bool) -> None:
        if isinstance(node, Leaf):
            rows.append((prefix, str(node.dtype), required))
            return
        rows.append((prefix, "var * record" if node.jagged else "record", required))
        if node.any_bool:
            rows.append((f"{prefix}.<name>", "bool", required))
        for name, child in node.fields.items():
            walk(f"{prefix}.{name}", child, required)

    for col in COLUMNS:
        walk(col.name, col.node, col.required)
    return rows


def markdown_table() -> str:
    """The schema as the Markdown table README.md carries (a test keeps the two equal)."""
    lines = ["| field | type | required |", "|---|---|---|"]
    lines += [f"| `{n}` | {t} | {'yes' if r else 'no'} |" for n, t, r in leaf_table()]
    return "\n".join(lines)


if __name__ == "__main__":  # regenerate README's table: python -m trigkit.events.schema
    print(markdown_table())
