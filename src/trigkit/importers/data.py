"""Rows of model inputs from a user's file: ``.npz`` or ``.parquet`` (calibration, comparison).

- ``.npz``: the array ``in_<input name>`` (a bundle's ``reference.npz`` layout), else its only
  array; optional ``labels`` (class indices). These are model inputs (already preprocessed).
- ``.parquet``: one column per feature; with a preprocessing file its feature names pick the
  columns and the scaling is applied, else every numeric column in order; optional ``label``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trigkit.core.errors import TrigkitError
from trigkit.importers.preprocessing import FeatureScaling


@dataclass(frozen=True)
class Rows:
    x: np.ndarray
    labels: np.ndarray | None
    source: str


@dataclass(frozen=True)
class Feed:
    """Rows of every input of a model with several: input name -> float32 array."""

    feed: dict[str, np.ndarray]
    source: str


def pad_rows(x: np.ndarray, rows: int) -> np.ndarray:
    """``x`` with zero rows appended up to ``rows`` (a model exported with a fixed batch)."""
    if len(x) == rows:
        return x
    return np.concatenate([x, np.zeros((rows - len(x), *x.shape[1:]), dtype=x.dtype)])


def read_feed(path: Path, shapes: dict[str, tuple[int, ...]]) -> Feed:
    """An ``.npz`` with one array per input (``in_<name>``, as in a bundle's reference.npz, or
    ``<name>``), each of ``shapes[name]`` beyond the rows, all with the same number of rows."""
    path = Path(path)
    if not path.is_file():
        raise TrigkitError(f"{path}: no such data file")
    if path.suffix.lower() != ".npz":
        raise TrigkitError(
            f"{path}: a model with inputs {', '.join(shapes)} reads its rows from an .npz "
            "(one array per input: in_<name>)"
        )
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: np.asarray(z[k]) for k in z.files}
    except (OSError, ValueError) as exc:
        raise TrigkitError(f"{path}: cannot read .npz ({str(exc).splitlines()[0]})") from None
    feed: dict[str, np.ndarray] = {}
    for name, shape in shapes.items():
        key = f"in_{name}" if f"in_{name}" in arrays else name
        if key not in arrays:
            raise TrigkitError(
                f"{path}: no array for input '{name}' (in_{name} or {name}); the file has "
                f"{', '.join(sorted(arrays)) or 'none'}"
            )
        x = arrays[key]
        if x.shape[1:] != tuple(shape) or len(x) == 0 or x.dtype.kind not in "fiu":
            raise TrigkitError(
                f"{path} [{key}]: {x.dtype} rows of shape {x.shape[1:]} ({len(x)} rows); input "
                f"'{name}' takes numbers of shape {tuple(shape)}"
            )
        feed[name] = x.astype(np.float32)
    counts = {len(x) for x in feed.values()}
    if len(counts) > 1:
        rows = ", ".join(f"{k}: {len(v)}" for k, v in feed.items())
        raise TrigkitError(f"{path}: the inputs have different numbers of rows ({rows})")
    return Feed(feed, f"{path} [{', '.join(f'in_{k}' for k in feed)}]")


def read_rows(
    path: Path, input_name: str, shape: tuple[int, ...], scaling: FeatureScaling | None = None
) -> Rows:
    path = Path(path)
    if not path.is_file():
        raise TrigkitError(f"{path}: no such data file")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        rows = _npz(path, input_name)
    elif suffix == ".parquet":
        rows = _parquet(path, scaling)
    else:
        raise TrigkitError(f"{path}: unknown data format '{suffix}'; valid: .npz, .parquet")
    if rows.x.shape[1:] != tuple(shape) or len(rows.x) == 0:
        raise TrigkitError(
            f"{path}: rows of shape {rows.x.shape[1:]} ({len(rows.x)} rows); input "
            f"'{input_name}' takes {tuple(shape)}"
        )
    if rows.labels is not None and len(rows.labels) != len(rows.x):
        raise TrigkitError(f"{path}: {len(rows.labels)} labels for {len(rows.x)} rows")
    return rows


def _npz(path: Path, input_name: str) -> Rows:
    try:
        with np.load(path, allow_pickle=False) as z:
            keys = [k for k in z.files if k != "labels"]
            key = f"in_{input_name}" if f"in_{input_name}" in z.files else None
            if key is None and len(keys) == 1:
                key = keys[0]
            if key is None:
                raise TrigkitError(
                    f"{path}: no array 'in_{input_name}' (and not exactly one array); has "
                    f"{', '.join(z.files)}"
                )
            labels = np.asarray(z["labels"]).astype(np.int64) if "labels" in z.files else None
            return Rows(np.asarray(z[key], dtype=np.float64), labels, f"{path} [{key}]")
    except (OSError, ValueError) as exc:
        raise TrigkitError(f"{path}: cannot read .npz ({str(exc).splitlines()[0]})") from None


def _parquet(path: Path, scaling: FeatureScaling | None) -> Rows:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:  # noqa: BLE001 - ArrowInvalid and friends
        raise TrigkitError(f"{path}: cannot read parquet ({str(exc).splitlines()[0]})") from None
    cols = (
        list(scaling.names)
        if scaling
        else [f.name for f in table.schema if f.name != "label" and _numeric(f.type)]
    )
    missing = [c for c in cols if c not in table.column_names]
    if missing:
        raise TrigkitError(f"{path}: no column(s) {', '.join(missing)}")
    x = np.stack([table.column(c).to_numpy().astype(np.float64) for c in cols], axis=1)
    if scaling is not None:
        x = scaling.apply(x)
    labels = None
    if "label" in table.column_names:
        labels = table.column("label").to_numpy().astype(np.int64)
    return Rows(x, labels, f"{path} [{', '.join(cols)}]")


def _numeric(t: object) -> bool:
    import pyarrow as pa

    return bool(pa.types.is_integer(t) or pa.types.is_floating(t))  # type: ignore[arg-type]
