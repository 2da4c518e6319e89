"""What the GPU target needs from a trained tagger, and where its input rows come from.

:class:`GpuModel` is the one adapter between :mod:`trigkit.models` (``load_model`` ->
``TrainedModel``) and the GPU compile path: the torch module (eval mode, preprocessed float32
inputs in ``input_names`` order, logits out), the per-row input shapes, class names.

Input rows for reference outputs and INT8 calibration come from

* ``synthetic_inputs``: standard-normal preprocessed features with a prefix mask (a random
  number of real objects, padded slots exactly 0) - the layout the preprocessing produces;
* ``read_inputs(path)``: an ``.npz`` of preprocessed inputs (``in_<name>`` arrays, optional
  ``labels``; the layout of a bundle's ``reference.npz``), or an events file (``.parquet``,
  ``.h5``/``.hdf5``, ``.root``) run through the model's own feature extraction and preprocessing.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from torch import nn

from trigkit.bundle.manifest import TensorSpec
from trigkit.core.errors import TrigkitError
from trigkit.events.sources import open_events
from trigkit.models.saved import load_model

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GpuModel:
    module: nn.Module
    name: str
    input_names: tuple[str, ...]
    input_shapes: dict[str, tuple[int, ...]]
    class_names: tuple[str, ...]
    source: Path | None = None
    trained: object | None = None  # the TrainedModel, when loaded from a file

    def __post_init__(self) -> None:
        missing = [n for n in self.input_names if n not in self.input_shapes]
        if missing:
            raise TrigkitError(f"model '{self.name}': no input shape for {', '.join(missing)}")

    @property
    def is_sequence(self) -> bool:
        return "mask" in self.input_names

    def input_specs(self) -> list[TensorSpec]:
        features = _feature_names(self.trained)
        return [
            TensorSpec(
                name=n,
                shape=(-1, *self.input_shapes[n]),
                dtype="float32",
                features=features if n == self.input_names[0] else (),
            )
            for n in self.input_names
        ]

    def save_source(self, dest: Path) -> bool:
        """Copy the saved model file into ``dest`` (for the torch runner); False if none."""
        if self.source is None or not self.source.is_file():
            return False
        shutil.copy2(self.source, dest)
        return True


def _feature_names(trained: object | None) -> tuple[str, ...]:
    pre = getattr(trained, "preprocessing", None)
    return tuple(getattr(pre, "feature_names", ()) or ())


def from_trained(trained: object, source: Path | None = None) -> GpuModel:
    """Adapter: a ``trigkit.models`` TrainedModel -> GpuModel."""
    try:
        pre = trained.preprocessing  # type: ignore[attr-defined]
        shapes = dict(pre.input_shapes())
        module = trained.module  # type: ignore[attr-defined]
        names = tuple(trained.input_names)  # type: ignore[attr-defined]
        classes = tuple(trained.class_names)  # type: ignore[attr-defined]
        name = str(trained.name)  # type: ignore[attr-defined]
    except AttributeError as exc:
        raise TrigkitError(f"{source or 'model'}: not a trigkit trained model ({exc})") from None
    return GpuModel(module.eval(), name, names, shapes, classes, source, trained)


def load_gpu_model(path: Path) -> GpuModel:
    """``trigkit.models.saved.load_model(path)`` wrapped as a GpuModel."""
    path = Path(path)
    if not path.exists():
        raise TrigkitError(f"{path}: model file not found")
    return from_trained(load_model(path), source=path)


def synthetic_inputs(model: GpuModel, n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """``n`` preprocessed-looking rows: N(0,1) features, prefix masks, padded slots 0."""
    feat = model.input_names[0]
    shape = model.input_shapes[feat]
    if not model.is_sequence:
        return {feat: np.random.default_rng(seed).standard_normal((n, *shape)).astype(np.float32)}
    x, mask = synthetic_objects(n, *shape, seed=seed)
    out = {feat: x, "mask": mask}
    return {k: out[k] for k in model.input_names}


def synthetic_objects(
    n: int, n_obj: int, n_feat: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` sets of up to ``n_obj`` objects: float32 N(0,1) features [n, n_obj, n_feat] with the
    padded slots 0, and the float32 prefix mask [n, n_obj] (0..n_obj real objects per row)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, n_obj, n_feat)).astype(np.float32)
    counts = rng.integers(0, n_obj + 1, size=n)
    mask = (np.arange(n_obj)[None, :] < counts[:, None]).astype(np.float32)
    x *= mask[..., None]
    return x, mask


@dataclass(frozen=True)
class InputRows:
    inputs: dict[str, np.ndarray]
    labels: np.ndarray | None
    source: str


def read_inputs(path: Path, model: GpuModel) -> InputRows:
    """Preprocessed input rows (and labels when known) from an .npz or an events file."""
    path = Path(path)
    if not path.is_file():
        raise TrigkitError(f"{path}: calibration/reference file not found")
    if path.suffix == ".npz":
        return _read_npz(path, model)
    return _read_events(path, model)


def _read_npz(path: Path, model: GpuModel) -> InputRows:
    try:
        with np.load(path) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except Exception as exc:  # noqa: BLE001 - zipfile/pickle errors
        raise TrigkitError(f"{path}: not a readable .npz ({type(exc).__name__}: {exc})") from None
    inputs = {}
    for name in model.input_names:
        key = f"in_{name}"
        if key not in arrays:
            raise TrigkitError(
                f"{path}: no array '{key}' (needs in_<input> for {', '.join(model.input_names)})"
            )
        arr = np.asarray(arrays[key], dtype=np.float32)
        if arr.shape[1:] != tuple(model.input_shapes[name]):
            raise TrigkitError(
                f"{path}: '{key}' rows have shape {list(arr.shape[1:])}, model "
                f"input '{name}' needs {list(model.input_shapes[name])}"
            )
        inputs[name] = arr
    labels = arrays.get("labels")
    return InputRows(inputs, None if labels is None else np.asarray(labels), str(path))


def _read_events(path: Path, model: GpuModel) -> InputRows:
    """Events file -> the model's own features and preprocessing (``TrainedModel`` API)."""
    trained = model.trained
    if trained is None or not hasattr(trained, "features"):
        raise TrigkitError(
            f"{path}: reading events needs a saved trigkit model; pass an .npz of inputs instead"
        )
    fs = trained.features(open_events(path))  # type: ignore[attr-defined]
    if len(fs) == 0:
        raise TrigkitError(f"{path}: no taggable objects in these events")
    arrays = trained.model_inputs(fs)  # type: ignore[attr-defined]
    return InputRows(
        dict(zip(model.input_names, arrays, strict=True)), np.asarray(fs.labels), str(path)
    )
