"""Runtime: one `Runner` interface over TensorRT, onnxruntime and torch; Triton export.

``load_runner(bundle_path, backend)`` verifies the gpu bundle (hashes) and returns an inactive
runner; use it as a context manager::

    with load_runner("bundle/", backend="onnxruntime") as r:
        probs = r.infer({"tracks": x, "mask": m})
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trigkit.runtime.base import Runner


def load_runner(bundle_path: str | Path, backend: str = "onnxruntime", **opts: Any) -> Runner:
    """Load the gpu bundle at ``bundle_path`` behind runtime backend ``backend``."""
    from trigkit.bundle.manifest import load_bundle
    from trigkit.runtime.backends import RUNNERS

    RUNNERS.entry(backend)  # unknown name -> TrigkitError listing the valid ones
    bundle = load_bundle(bundle_path, target="gpu")
    return RUNNERS.create(backend, bundle, **opts)


__all__ = ["load_runner"]
