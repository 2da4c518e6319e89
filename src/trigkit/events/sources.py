"""Open any supported event file by its suffix: ``.root`` (CMS NanoAOD), ``.h5``/``.hdf5``
(ATLAS flavour-tagging layout) or ``.parquet`` (any file with the EventBatch schema: trigkit's
own from ``events generate``, or a user's written by awkward).

All readers are imported inside the functions, so importing this module stays cheap.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from trigkit.core.errors import TrigkitError
from trigkit.events.batch import EventBatch

FORMATS = {".root": "nanoaod", ".h5": "hdf5", ".hdf5": "hdf5", ".parquet": "parquet"}
OUTPUT_FORMATS = {".h5": "hdf5", ".hdf5": "hdf5", ".parquet": "parquet"}
_VALID = (
    ".root (CMS NanoAOD), .h5/.hdf5 (ATLAS flavour-tagging HDF5) or .parquet (EventBatch schema)"
)


def file_format(path: str | Path, *, must_exist: bool = True) -> str:
    """``'nanoaod'``, ``'hdf5'`` or ``'parquet'`` for ``path``; TrigkitError otherwise."""
    path = Path(path)
    if must_exist and not path.exists():
        raise TrigkitError(f"{path}: no such file")
    if must_exist and not path.is_file():
        raise TrigkitError(f"{path}: not a file")
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise TrigkitError(
            f"{path}: unsupported file type '{path.suffix or '(none)'}'; expected {_VALID}"
        )
    return kind


def iter_events(path: str | Path, **kw: Any) -> Iterator[EventBatch]:
    """Yield :class:`EventBatch` chunks from ``path``.

    ``step_size`` (events per chunk, at most) is honoured by every format; ``lumi_pb`` and
    ``xsec_pb`` apply to NanoAOD only (HDF5 and Parquet files carry their own weights).
    """
    kind = file_format(path)
    if kind == "nanoaod":
        from trigkit.events.nanoaod import iter_nanoaod

        yield from iter_nanoaod(path, **kw)
    elif kind == "hdf5":
        from trigkit.events.hdf5 import read_hdf5

        _reject_extra(path, kw, "HDF5", allowed=("step_size",))
        yield from _slices(read_hdf5(path), kw.get("step_size"))
    else:
        from trigkit.events import parquet_io

        _reject_extra(path, kw, "Parquet", allowed=("step_size",))
        for batch in parquet_io.iter_parquet(path):
            yield from _slices(batch, kw.get("step_size"))


def open_events(path: str | Path, **kw: Any) -> EventBatch:
    """Read all of ``path`` into one :class:`EventBatch`."""
    kind = file_format(path)
    if kind == "nanoaod":
        from trigkit.events.nanoaod import read_nanoaod

        return read_nanoaod(path, **kw)
    if kind == "hdf5":
        from trigkit.events.hdf5 import read_hdf5

        _reject_extra(path, kw, "HDF5", allowed=())
        return read_hdf5(path)
    from trigkit.events import parquet_io

    _reject_extra(path, kw, "Parquet", allowed=())
    return parquet_io.read_parquet(path)


def _reject_extra(
    path: str | Path, kw: dict[str, Any], what: str, allowed: tuple[str, ...]
) -> None:
    extra = sorted(set(kw) - set(allowed))
    if extra:
        raise TrigkitError(f"{path}: option(s) {', '.join(extra)} do not apply to {what} input")


def _slices(batch: EventBatch, step_size: int | None) -> Iterator[EventBatch]:
    if not step_size or step_size >= len(batch):
        yield batch
        return
    for start in range(0, len(batch), step_size):
        yield batch[start : start + step_size]
