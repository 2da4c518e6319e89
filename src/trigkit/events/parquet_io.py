"""EventBatch <-> Parquet: chunked row groups, atomic writes, trigkit key-value metadata.

The file is the :meth:`EventBatch.to_awkward` record array written through pyarrow, one row
group per batch. Key-value metadata (``trigkit.*``) holds process, lumi_pb, source and a format
version; nothing time-dependent is written, so equal inputs give byte-identical files.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import awkward as ak

from trigkit.core.atomic import atomic_path
from trigkit.core.errors import TrigkitError
from trigkit.events.batch import EventBatch
from trigkit.events.schema_check import check_arrow, conform, strip_nullable

logger = logging.getLogger(__name__)

FORMAT_KEY = b"trigkit.format"
FORMAT_VERSION = b"trigkit-events/1"
META_KEYS = ("process", "lumi_pb", "source")


def check_destination(path: Path) -> None:
    """Raise TrigkitError unless ``path`` is a writable .parquet destination."""
    if path.suffix != ".parquet":
        raise TrigkitError(f"{path}: output must be a .parquet file")
    if path.is_dir():
        raise TrigkitError(f"{path}: is a directory; give a .parquet file name")
    parent = path.parent if str(path.parent) else Path(".")
    for p in (parent, *parent.parents):
        if p.exists():
            if not p.is_dir():
                raise TrigkitError(f"{path}: {p} is not a directory")
            if not os.access(p, os.W_OK | os.X_OK):
                raise TrigkitError(f"{path}: directory {p} is not writable")
            break


def _default_permissions(path: Path) -> None:
    """Temporary files are created 0600; give the final file the usual umask-based mode."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def _conform(table, schema, dest: Path):
    """``table`` with the file's schema; a batch of another layout is a TrigkitError."""
    import pyarrow as pa

    table = table.replace_schema_metadata(schema.metadata)
    if table.schema.equals(schema, check_metadata=False):
        return table
    try:
        return table.cast(schema)
    except (pa.ArrowException, ValueError) as exc:
        theirs = set(table.schema.names) ^ set(schema.names)
        detail = f"fields differ: {sorted(theirs)}" if theirs else str(exc).splitlines()[0]
        raise TrigkitError(
            f"{dest}: a batch does not match the layout of the first one ({detail})"
        ) from exc


def _metadata(batch: EventBatch) -> dict[bytes, bytes]:
    return {
        FORMAT_KEY: FORMAT_VERSION,
        b"trigkit.process": batch.process.encode(),
        b"trigkit.lumi_pb": json.dumps(float(batch.lumi_pb)).encode(),
        b"trigkit.source": batch.source.encode(),
    }


def write_parquet(
    batches: Iterable[EventBatch],
    path: str | os.PathLike[str],
    *,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write batches (one row group each) to ``path`` atomically; return the events written.

    ``progress(n)`` is called after each batch with the number of events it held. Process,
    lumi_pb and source come from the first batch; later batches must agree on process and lumi.
    """
    import pyarrow.parquet as pq

    dest = Path(path)
    check_destination(dest)
    total = 0
    try:
        with atomic_path(dest, suffix=".parquet.tmp") as tmp:
            writer = None
            first: EventBatch | None = None
            try:
                for batch in batches:
                    if first is None:
                        first = batch
                    elif (batch.process, batch.lumi_pb) != (first.process, first.lumi_pb):
                        raise TrigkitError(
                            f"{dest}: batch with process={batch.process} lumi_pb={batch.lumi_pb} "
                            f"cannot join a file of process={first.process} lumi_pb={first.lumi_pb}"
                        )
                    if len(batch) == 0:
                        continue
                    table = ak.to_arrow_table(batch.to_awkward(), extensionarray=True)
                    if writer is None:
                        schema = table.schema.with_metadata(
                            {**(table.schema.metadata or {}), **_metadata(first)}
                        )
                        writer = pq.ParquetWriter(tmp, schema, compression="zstd")
                    writer.write_table(_conform(table, writer.schema, dest))
                    total += len(batch)
                    if progress is not None:
                        progress(len(batch))
                if first is None:
                    raise TrigkitError(f"{dest}: no events to write")
                if writer is None:
                    raise TrigkitError(f"{dest}: all batches are empty; nothing to write")
            finally:
                if writer is not None:
                    writer.close()
            _default_permissions(tmp)
    except OSError as exc:
        raise TrigkitError(f"{dest}: cannot write ({exc.strerror or exc})") from exc
    logger.info("wrote %d events to %s", total, dest)
    return total


def _open(path: str | os.PathLike[str]):
    """The ParquetFile, its EventBatch metadata and what reading its columns needs.

    Any file whose fields match the EventBatch schema is events, whoever wrote it. A file with
    trigkit's format tag was written from an EventBatch: its records may hold a subset of the
    documented fields (as the batch did) and are read as written; any other file must hold every
    required field and is cast to the documented dtypes. Fields present are type-checked either
    way; the metadata supplies process, lumi_pb and source when present.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    p = Path(path)
    if not p.exists():
        raise TrigkitError(f"{p}: no such file")
    if p.is_dir():
        raise TrigkitError(f"{p}: is a directory, expected a .parquet event file")
    try:
        pf = pq.ParquetFile(p)
    except (pa.ArrowException, OSError) as exc:
        raise TrigkitError(f"{p}: not a readable Parquet file ({exc})") from exc
    meta = pf.schema_arrow.metadata or {}
    ours = meta.get(FORMAT_KEY, b"").startswith(b"trigkit-events/")
    chk = check_arrow(pf.schema_arrow, p, complete=not ours)
    if ours:
        chk.casts = {}  # read as written
    return pf, _info(p, meta), chk


def _info(p: Path, meta: dict[bytes, bytes]) -> dict[str, object]:
    """process / lumi_pb / source from trigkit's metadata; without it, a user's own file:
    process 'parquet', weights taken as normalised to 1 pb^-1."""
    if FORMAT_KEY not in meta and b"trigkit.lumi_pb" not in meta:
        logger.info("%s: no trigkit metadata; process 'parquet', lumi_pb 1.0", p)
        return {"process": "parquet", "lumi_pb": 1.0, "source": str(p)}
    try:
        return {
            "process": meta.get(b"trigkit.process", b"parquet").decode(),
            "lumi_pb": float(json.loads(meta.get(b"trigkit.lumi_pb", b"1.0"))),
            "source": _source(p, meta.get(b"trigkit.source", b"").decode()),
        }
    except (UnicodeDecodeError, ValueError, TypeError) as exc:
        raise TrigkitError(f"{p}: trigkit metadata is malformed ({exc})") from exc


def _source(path: Path, recorded: str) -> str:
    """Messages name the file first; the recorded origin (e.g. the generator spec) follows."""
    return f"{path} [{recorded}]" if recorded and recorded != str(path) else str(path)


def row_group_sizes(path: str | os.PathLike[str]) -> list[int]:
    """Events in each row group of a trigkit Parquet file (from the footer; no data is read)."""
    pf, _, _ = _open(path)
    return [pf.metadata.row_group(i).num_rows for i in range(pf.num_row_groups)]


def leaf_fields(path: str | os.PathLike[str]) -> list[str]:
    """Dotted names of the leaf fields in a trigkit Parquet file (``jets.pt``,
    ``jets.tracks.d0_sig``, ``weight``...), from the footer; no data is read."""
    pf, _, _ = _open(path)
    return [_dotted(pf.schema.column(i).path) for i in range(len(pf.schema))]


def _dotted(parquet_path: str) -> str:
    return parquet_path.replace(".list.element", "").replace(".list.item", "")


#: awkward registers its Arrow extension type process-wide; a projected read unregisters it for
#: the duration of the read (pyarrow cannot prune inside an extension type), under this lock
_EXT_LOCK = threading.Lock()


def _like(field, full):
    """The projected storage ``field`` with the nullability of the same field in ``full`` (the
    file's schema with awkward's extension types): the storage types of a projected read have
    nullable list items, which awkward would turn into option types."""
    import pyarrow as pa

    ft = full.type
    while isinstance(ft, pa.ExtensionType):
        ft = ft.storage_type
    t = field.type
    if pa.types.is_large_list(t) or pa.types.is_list(t):
        item = _like(t.value_field, ft.value_field)
        t = pa.large_list(item) if pa.types.is_large_list(t) else pa.list_(item)
    elif pa.types.is_struct(t):
        t = pa.struct([_like(f, ft.field(f.name)) for f in t])
    return pa.field(field.name, t, nullable=full.nullable)


def _projection_supported() -> bool:
    """Whether this awkward exposes the extension type a projected read re-registers (a private
    module: with another awkward version every read is a full read, just slower)."""
    try:
        from awkward._connect.pyarrow.extn_types import AwkwardArrowType  # noqa: F401
    except ImportError:
        logger.warning(
            "column projection off: awkward %s has no AwkwardArrowType; reading every field",
            ak.__version__,
        )
        return False
    return True


def _read_projected(path: str | os.PathLike[str], full_schema, i: int, columns: list[str]):
    """Row group ``i`` with only the Parquet leaf ``columns``, as an Arrow table that awkward
    reads with the same types (less fields) as a full read."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from awkward._connect.pyarrow.extn_types import AwkwardArrowType

    with _EXT_LOCK:
        pa.unregister_extension_type("awkward")
        try:
            table = pq.ParquetFile(path).read_row_group(i, columns=columns)
        finally:
            pa.register_extension_type(
                AwkwardArrowType(pa.null(), None, None, None, None, None, None)
            )
    schema = pa.schema([_like(f, full_schema.field(f.name)) for f in table.schema])
    return table.cast(schema)


def iter_parquet(
    path: str | os.PathLike[str],
    row_groups: range | None = None,
    columns: Sequence[str] | None = None,
) -> Iterator[EventBatch]:
    """Yield one EventBatch per row group (all of them, or those in ``row_groups``).

    ``columns``: read only these leaf fields (dotted, e.g. ``jets.pt``, ``jets.tracks.d0_sig``;
    see :func:`leaf_fields`); names not in the file are skipped. ``weight`` and ``truth`` are
    always read. None reads every field.
    """
    import pyarrow as pa

    pf, info, chk = _open(path)
    parquet_cols = None
    if columns is not None and _projection_supported():
        wanted = set(columns)
        leaves = [pf.schema.column(k).path for k in range(len(pf.schema))]
        parquet_cols = [
            c
            for c in leaves
            if _dotted(c) in wanted or _dotted(c).split(".")[0] in ("weight", "truth")
        ]
    for i in range(pf.num_row_groups) if row_groups is None else row_groups:
        try:
            if parquet_cols is not None:
                table = _read_projected(path, pf.schema_arrow, i, parquet_cols)
            else:
                with (
                    _EXT_LOCK
                ):  # not while a projected read in another thread has unregistered the type
                    table = pf.read_row_group(i)
            arr = ak.from_arrow(strip_nullable(table, chk, path))
            yield EventBatch.from_awkward(conform(arr, chk, path), **info)
        except (pa.ArrowException, OSError, ValueError, KeyError) as exc:
            raise TrigkitError(
                f"{path}: row group {i} is corrupt or not trigkit events ({exc})"
            ) from exc


def read_parquet(path: str | os.PathLike[str]) -> EventBatch:
    """The whole file as one EventBatch."""
    batches = list(iter_parquet(path))
    if not batches:
        raise TrigkitError(f"{path}: file holds no events")
    return batches[0] if len(batches) == 1 else EventBatch.concatenate(batches)
