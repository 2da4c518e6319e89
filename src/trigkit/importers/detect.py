"""Which format a model file is, from its content (the extension is only a hint).

- HDF5 (``\\x89HDF\\r\\n\\x1a\\n``): a Keras ``.h5`` model (``model_config`` attribute);
- zip: Keras ``.keras`` (``config.json`` + ``model.weights.h5``), torch.export ``.pt2``
  (``*/archive_format``), TorchScript (``*/code/`` + ``*/constants.pkl``) or a plain
  ``torch.save`` archive (``*/data.pkl`` only: a trigkit model file);
- otherwise an ONNX protobuf (first field ``ir_version``: byte ``0x08``).
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Literal

from trigkit.core.errors import TrigkitError

Kind = Literal["onnx", "torchscript", "torch_export", "keras", "keras_h5", "trigkit"]
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
ZIP_MAGIC = b"PK\x03\x04"
EXTENSIONS: dict[str, tuple[str, ...]] = {
    ".onnx": ("onnx",),
    ".pt2": ("torch_export",),
    ".pt": ("torchscript", "trigkit"),
    ".pth": ("torchscript", "trigkit"),
    ".keras": ("keras",),
    ".h5": ("keras_h5",),
    ".hdf5": ("keras_h5",),
}
VALID = (
    "ONNX (.onnx), torch.export (.pt2), TorchScript (.pt), Keras (.keras, .h5), or a trigkit "
    "model (.pt from trigkit train)"
)


def detect_format(path: Path) -> Kind:
    """The format of ``path``; TrigkitError for a missing, empty, truncated or unknown file."""
    path = Path(path)
    if not path.is_file():
        raise TrigkitError(f"{path}: no such model file")
    with path.open("rb") as f:
        head = f.read(8)
    if not head:
        raise TrigkitError(f"{path}: empty file; expected one of {VALID}")
    if head.startswith(HDF5_MAGIC):
        kind: Kind = "keras_h5"
    elif head.startswith(ZIP_MAGIC):
        kind = _zip_kind(path)
    elif head[0] == 0x08:
        kind = "onnx"
    else:
        raise TrigkitError(
            f"{path}: unknown model format (first bytes {head[:4]!r}); valid: {VALID}"
        )
    hint = EXTENSIONS.get(path.suffix.lower())
    if hint is None and path.suffix:
        raise TrigkitError(f"{path}: unknown extension '{path.suffix}'; valid: {VALID}")
    if hint is not None and kind not in hint:
        raise TrigkitError(
            f"{path}: the extension says {'/'.join(hint)} but the content is {kind}; "
            "rename the file or re-export it"
        )
    return kind


def _zip_kind(path: Path) -> Kind:
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
            bad = z.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise TrigkitError(f"{path}: corrupt or truncated archive ({exc})") from None
    if bad is not None:
        raise TrigkitError(f"{path}: corrupt archive member '{bad}' (CRC mismatch)")
    tails = {n.split("/", 1)[-1] for n in names}
    if "config.json" in names and "model.weights.h5" in names:
        return "keras"
    if any(n.endswith("archive_format") for n in names) or "models/model.json" in tails:
        return "torch_export"
    if any("/code/" in n for n in names) and "constants.pkl" in tails:
        return "torchscript"
    if "data.pkl" in tails:
        return "trigkit"
    raise TrigkitError(f"{path}: a zip archive but not a model this tool reads; valid: {VALID}")
