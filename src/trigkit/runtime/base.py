"""The one `Runner` interface every GPU-side backend implements (Polygraphy's shape).

``activate()`` loads the model onto its device, ``infer(feed)`` runs one batch, ``deactivate()``
frees it; a runner is also a context manager. The public :meth:`Runner.infer` validates the feed
before the backend's ``_infer_impl`` sees it:

* every input present, no unknown inputs -> else TrigkitError listing the valid names;
* dtype exactly as the bundle says, shape beyond the batch axis exactly as the bundle says,
  one batch size shared by all inputs -> else TrigkitError naming the input, expected vs got;
* NaN / Inf in float inputs: ``nan_policy="reject"`` (default) raises TrigkitError with the
  count per input; ``"pass"`` hands them to the model unchanged (the probabilities of those rows
  are then NaN or arbitrary - the caller chose to deal with them).

Outputs are float32 probabilities ``[batch, n_classes]`` (the softmax is in the graph).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np

from trigkit.core.errors import TrigkitError

if TYPE_CHECKING:
    from trigkit.bundle.manifest import TensorSpec

log = logging.getLogger(__name__)

NanPolicy = Literal["reject", "pass"]
NAN_POLICIES = ("reject", "pass")


class Runner(ABC):
    """Base class: subclasses implement ``_activate_impl``, ``_infer_impl``,
    ``_deactivate_impl``."""

    backend: str = "base"

    def __init__(
        self, inputs: Sequence[TensorSpec], *, nan_policy: NanPolicy = "reject", label: str = ""
    ) -> None:
        if nan_policy not in NAN_POLICIES:
            raise TrigkitError(
                f"unknown nan_policy '{nan_policy}'; valid: {', '.join(NAN_POLICIES)}"
            )
        if not inputs:
            raise TrigkitError(f"{label or self.backend}: a runner needs at least one input spec")
        self.inputs = list(inputs)
        self.nan_policy = nan_policy
        self.label = label or self.backend
        self.is_active = False
        # per input: spec, numpy dtype, shape beyond the batch axis - looked up once, not per call
        self._expect = [(s, _np_dtype(s.dtype), tuple(s.shape[1:])) for s in self.inputs]
        self._names = [s.name for s in self.inputs]

    # lifecycle ------------------------------------------------------------------------------
    def activate(self) -> Runner:
        if not self.is_active:
            self._activate_impl()
            self.is_active = True
        return self

    def deactivate(self) -> None:
        if self.is_active:
            self._deactivate_impl()
            self.is_active = False

    def __enter__(self) -> Runner:
        return self.activate()

    def __exit__(self, *exc: object) -> None:
        self.deactivate()

    def require_active(self) -> None:
        if not self.is_active:
            raise TrigkitError(
                f"{self.label}: runner is not active; use `with runner:` or activate()"
            )

    # inference ------------------------------------------------------------------------------
    def infer(self, feed: Mapping[str, np.ndarray]) -> np.ndarray:
        """Validate ``feed`` (input name -> array) and return probabilities [batch, classes]."""
        self.require_active()
        ordered = self.validate(feed)
        return self._infer_impl(ordered)

    def validate(self, feed: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The checks of :meth:`infer`; returns the feed in the model's input order."""
        names = self._names
        if len(feed) != len(names) or any(n not in feed for n in names):
            unknown = [k for k in feed if k not in names]
            missing = [n for n in names if n not in feed]
            raise TrigkitError(
                f"{self.label}: inputs {sorted(feed)} do not match the model's {names}"
                + (f" (missing: {', '.join(missing)})" if missing else "")
                + (f" (unknown: {', '.join(unknown)})" if unknown else "")
            )
        out: dict[str, np.ndarray] = {}
        batch: int | None = None
        for spec, dtype, want in self._expect:
            arr = feed[spec.name]
            if not isinstance(arr, np.ndarray):
                raise TrigkitError(
                    f"{self.label}: input '{spec.name}' must be a numpy array, "
                    f"got {type(arr).__name__}"
                )
            if dtype is None or arr.dtype != dtype:
                raise TrigkitError(
                    f"{self.label}: input '{spec.name}' dtype expected "
                    f"{spec.dtype}, got {arr.dtype}"
                )
            if arr.ndim != len(spec.shape) or arr.shape[1:] != want:
                expected = "[batch, " + ", ".join(map(str, want)) + "]" if want else "[batch]"
                raise TrigkitError(
                    f"{self.label}: input '{spec.name}' shape expected "
                    f"{expected}, got {list(arr.shape)}"
                )
            if batch is None:
                batch = arr.shape[0]
            elif arr.shape[0] != batch:
                raise TrigkitError(
                    f"{self.label}: input '{spec.name}' has batch "
                    f"{arr.shape[0]}, other inputs have {batch}"
                )
            out[spec.name] = arr
        self._check_finite(out)
        return out

    def _check_finite(self, feed: dict[str, np.ndarray]) -> None:
        if self.nan_policy == "pass":
            return
        bad = {
            k: int(np.count_nonzero(~np.isfinite(v)))
            for k, v in feed.items()
            if v.dtype.kind == "f" and not np.isfinite(v).all()
        }
        bad = {k: n for k, n in bad.items() if n}
        if bad:
            counts = ", ".join(f"{n} in '{k}'" for k, n in bad.items())
            raise TrigkitError(
                f"{self.label}: {sum(bad.values())} NaN/Inf input values ({counts}); "
                "clean the inputs or pass nan_policy='pass' to run them anyway"
            )

    # backend hooks --------------------------------------------------------------------------
    @abstractmethod
    def _activate_impl(self) -> None: ...

    @abstractmethod
    def _infer_impl(self, feed: dict[str, np.ndarray]) -> np.ndarray: ...

    def _deactivate_impl(self) -> None:
        return None


def _np_dtype(name: str) -> np.dtype | None:
    """The numpy dtype whose name is exactly ``name`` (None: no array can match it)."""
    try:
        dtype = np.dtype(name)
    except TypeError:
        return None
    return dtype if str(dtype) == name else None


def check_against_reference(
    runner: Runner, inputs: dict[str, np.ndarray], expected: np.ndarray, tolerance: float
) -> float:
    """Run ``inputs`` and return max |out - expected|; raise if above ``tolerance``."""
    got = runner.infer(inputs)
    if got.shape != expected.shape:
        raise TrigkitError(
            f"{runner.label}: output shape {got.shape}, reference has {expected.shape}"
        )
    diff = float(np.max(np.abs(got.astype(np.float64) - expected))) if got.size else 0.0
    if not diff <= tolerance:
        raise TrigkitError(
            f"{runner.label}: outputs differ from the bundle's reference by {diff:.3g} "
            f"(tolerance {tolerance:g})"
        )
    return diff
