"""Bundles: a compiled model as a directory with a hashed ``manifest.json``.

A bundle is written into a temporary directory and renamed into place only when every file and
the manifest are complete. Loading verifies the sha256 of every file listed in the manifest and
refuses the bundle on any mismatch or missing file.

Layout::

    bundle/
      manifest.json        Manifest (below)
      reference.npz        reference inputs (``in_<name>``) and the outputs they must give
                           (``out_<name>``)
      <target artifacts>   model.onnx, model.engine, hls4ml project, RTL, ...
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import ConfigDict, Field

from trigkit import __version__
from trigkit.core.atomic import atomic_dir
from trigkit.core.errors import TrigkitError
from trigkit.core.validated import Validated

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
REFERENCE = "reference.npz"


class TensorSpec(Validated):
    """One model input or output. ``shape[0] == -1`` is the dynamic batch axis."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    features: tuple[str, ...] = ()
    units: tuple[str, ...] = ()


class LayerInfo(Validated):
    """Per-layer compile facts: precision strings, reuse factor, sparsity."""

    name: str
    kind: str
    precision: dict[str, str] = Field(default_factory=dict)
    reuse_factor: int | None = None
    sparsity: float = 0.0


class Manifest(Validated):
    model_config = ConfigDict(frozen=False)
    format_version: int = FORMAT_VERSION
    trigkit_version: str
    created_utc: str
    target: Literal["fpga", "gpu"]
    backend: str
    model_name: str
    precision: str
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    layers: list[LayerInfo] = Field(default_factory=list)
    reference_tolerance: float = 0.0
    files: dict[str, str] = Field(default_factory=dict)
    target_info: dict[str, Any] = Field(
        default_factory=dict,
        description="target-specific facts, read through the target's own pydantic model",
    )


@dataclass(frozen=True)
class Bundle:
    path: Path
    manifest: Manifest

    def file(self, name: str) -> Path:
        if name not in self.manifest.files:
            raise TrigkitError(f"bundle {self.path}: no file '{name}' in manifest.json")
        return self.path / name

    def reference(self) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        with np.load(self.file(REFERENCE)) as npz:
            ins = {k[3:]: npz[k] for k in npz.files if k.startswith("in_")}
            outs = {k[4:]: npz[k] for k in npz.files if k.startswith("out_")}
        return ins, outs


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _hash_tree(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): sha256_file(p)
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != MANIFEST
    }


class BundleWriter:
    """Collects files in a staging directory; see :func:`write_bundle`."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, name: str) -> Path:
        p = self.root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def save_reference(self, inputs: dict[str, np.ndarray], outputs: dict[str, np.ndarray]) -> None:
        arrays = {f"in_{k}": v for k, v in inputs.items()}
        arrays |= {f"out_{k}": v for k, v in outputs.items()}
        np.savez_compressed(self.path(REFERENCE), **arrays)


@contextmanager
def write_bundle(dest: str | Path, manifest: Manifest) -> Iterator[BundleWriter]:
    """Stage a bundle; on normal exit hash every file, write the manifest and rename into place.

    ``manifest.files`` is filled in here; any exception leaves ``dest`` untouched.
    """
    with atomic_dir(dest) as tmp:
        writer = BundleWriter(tmp)
        yield writer
        manifest.files = _hash_tree(tmp)
        (tmp / MANIFEST).write_text(manifest.model_dump_json(indent=2))


def new_manifest(**fields: Any) -> Manifest:
    now = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()
    return Manifest(trigkit_version=__version__, created_utc=now, **fields)


def load_bundle(path: str | Path, target: str | None = None) -> Bundle:
    """Read and verify a bundle; raise :class:`TrigkitError` on any problem."""
    path = Path(path)
    mpath = path / MANIFEST
    if not mpath.is_file():
        raise TrigkitError(f"{path}: not a trigkit bundle (no {MANIFEST})")
    try:
        data = json.loads(mpath.read_text())
    except json.JSONDecodeError as exc:
        raise TrigkitError(f"{mpath}: invalid manifest: not JSON ({exc})") from None
    manifest = Manifest.parse(data, f"{mpath}: invalid manifest")
    if manifest.format_version != FORMAT_VERSION:
        raise TrigkitError(
            f"{mpath}: bundle format {manifest.format_version}, this trigkit reads {FORMAT_VERSION}"
        )
    if target is not None and manifest.target != target:
        raise TrigkitError(f"{path}: a '{manifest.target}' bundle, expected a '{target}' bundle")
    for name, digest in manifest.files.items():
        f = path / name
        if not f.is_file():
            raise TrigkitError(f"{path}: file '{name}' listed in the manifest is missing")
        if sha256_file(f) != digest:
            raise TrigkitError(
                f"{path}: sha256 mismatch for '{name}' - the bundle was modified after it was "
                "written; refusing to load"
            )
    return Bundle(path, manifest)
