"""Trained taggers as score sources for ``trigkit emulate``: a GPU bundle for the HLT b-tag (or
an Xbb tagger, kind ``constituents``, scoring the large-R jets), an FPGA bundle (bit-exact
firmware emulation) for the L1 tagger.

Both need the model's features and preprocessing: ``trigkit.models`` extracts the raw features
of the model's kind (``TrainedModel.features`` / ``Preprocessing.transform``). They come from

* GPU bundle: the saved model the bundle carries (``target_info.torch_model``, ``model.pt``), or
  ``--btag-model MODEL.pt``;
* FPGA bundle: ``target_info.preprocessing`` (what ``trigkit compile --target fpga`` stores), or
  ``--l1-model MODEL.pt``.

An L1 tagger (kind ``l1jets`` / ``l1tracks``) scores the L1 jets, from their L1 tracks, where
the events have them (``EventBatch.has_l1_tracks``: its score goes to ``l1jets.<field>``), else
the offline jets (``collection_for``).
Feature rows map back to jets through ``event_index`` / ``object_index``; a jet the extractor
skips (e.g. unknown flavour) gets a NaN score, which never passes a cut. The score is the
probability of class ``b`` (class 0 when there is no ``b``). Running the bundle is
:mod:`trigkit.emulator.bundle_scorers`' (shared with taggers trained elsewhere).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np

from trigkit.core.errors import TrigkitError
from trigkit.emulator.bundle_scorers import FpgaScorer, GpuScorer
from trigkit.events.batch import EventBatch

log = logging.getLogger(__name__)
JET_KINDS = ("tracks", "l1jets", "l1tracks", "nanojets")
L1_KINDS = ("l1jets", "l1tracks")
XBB_KINDS = ("constituents",)


def collection_for_kind(kind: str, batch: EventBatch) -> str:
    """The collection a tagger of feature ``kind`` scores in ``batch`` (an Xbb tagger, kind
    ``constituents``: the large-R jets)."""
    if kind == "constituents":
        return "fatjets"
    return batch.l1_tagger_collection if kind in L1_KINDS else "jets"


def _load_preprocessing_from_model(path: Path, what: str) -> Any:  # noqa: ANN401 - Preprocessing
    from trigkit.models.saved import load_model

    return load_model(path).preprocessing if Path(path).is_file() else _missing(path, what)


def _missing(path: Path, what: str) -> Any:  # noqa: ANN401
    raise TrigkitError(f"{what} {path}: model file not found")


def _check_kind(pre: Any, where: str, kinds: tuple[str, ...] = JET_KINDS) -> None:  # noqa: ANN401
    if pre.kind not in kinds:
        what = "large-R jets" if kinds == XBB_KINDS else "jets"
        raise TrigkitError(
            f"{where}: a '{pre.kind}' tagger does not score {what}; valid kinds: {', '.join(kinds)}"
        )


def _score_column(class_names: tuple[str, ...] | list[str]) -> int:
    names = list(class_names)
    return names.index("b") if "b" in names else 0


def jet_rows(batch: EventBatch, pre: Any) -> tuple[tuple[np.ndarray, ...], np.ndarray]:  # noqa: ANN401
    """(preprocessed model inputs, flat jet index of each row) of ``batch`` for ``pre``."""
    from trigkit.models.features import extract

    fs = extract(pre.kind, batch, max_objects=pre.max_objects or None)
    return pre.transform(fs), fs.flat_index(batch, collection_for_kind(pre.kind, batch))


def _scatter(
    batch: EventBatch, idx: np.ndarray, values: np.ndarray, what: str, coll: str = "jets"
) -> np.ndarray:
    n = int(ak.sum(ak.num(batch.objects(coll), axis=1)))
    out = np.full(n, np.nan, dtype=np.float32)
    out[idx] = values
    if len(idx) < n:
        log.warning(
            "%s: %d of %d jets have no tagger inputs (score NaN: never passes)",
            what,
            n - len(idx),
            n,
        )
    return out


@dataclass
class GpuBundleScores:
    """``jets.<field>`` (``fatjets.xbb`` for an Xbb tagger) from a GPU bundle run by
    ``trigkit.runtime.load_runner`` (onnxruntime)."""

    bundle: Path
    model: Path | None = None
    field: str = "btag"
    backend: str = "onnxruntime"
    collection: str = "jets"
    flag: str = "--btag-bundle"
    model_flag: str | None = "--btag-model"  # the option that names ``model`` (None: none has)
    calls: int = 0
    _state: dict[str, Any] = dc_field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        from trigkit.bundle.manifest import load_bundle

        b = load_bundle(self.bundle, target="gpu")
        info = b.manifest.target_info
        src = self.model
        if src is None:
            name = info.get("torch_model")
            if not (isinstance(name, str) and name in b.manifest.files):
                fix = (
                    f"pass {self.model_flag} MODEL.pt"
                    if self.model_flag
                    else "compile it from MODEL.pt (trigkit compile stores the model)"
                )
                raise TrigkitError(
                    f"{self.flag} {self.bundle}: the bundle carries no saved model to take the "
                    f"features and preprocessing from; {fix}"
                )
            src = b.path / name
        pre = _load_preprocessing_from_model(Path(src), self.model_flag or self.flag)
        kinds = XBB_KINDS if self.collection == "fatjets" else JET_KINDS
        _check_kind(pre, f"{self.flag} {self.bundle}", kinds)
        want = tuple(t.name for t in b.manifest.inputs)
        if tuple(pre.input_names) != want:
            raise TrigkitError(
                f"{self.flag} {self.bundle}: bundle inputs {', '.join(want)} do not match the "
                f"model's {', '.join(pre.input_names)} ({src})"
            )
        self._state.update(
            pre=pre,
            col=_score_column(info.get("class_names") or b.manifest.outputs[0].features),
            scorer=GpuScorer.from_info(self.bundle, info, self.backend),
        )

    @property
    def description(self) -> str:
        return f"GPU bundle {self.bundle} ({self.backend})"

    def collection_for(self, batch: EventBatch) -> str:
        return collection_for_kind(self._state["pre"].kind, batch)

    def flat_scores(self, batch: EventBatch) -> np.ndarray:
        pre = self._state["pre"]
        xs, idx = jet_rows(batch, pre)
        feeds = dict(zip(pre.input_names, xs, strict=True))
        p = self._state["scorer"].probs(feeds, self._state["col"] + 1)
        self.calls += len(idx)
        what = f"{self.field} bundle {self.bundle}"
        return _scatter(batch, idx, p[:, self._state["col"]], what, self.collection_for(batch))


@dataclass
class FpgaBundleScores:
    """``jets.<field>`` from the bit-exact emulation of an FPGA bundle's firmware."""

    bundle: Path
    model: Path | None = None
    field: str = "l1_score"
    collection: str = "jets"
    calls: int = 0
    _state: dict[str, Any] = dc_field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        from trigkit.bundle.manifest import load_bundle
        from trigkit.models.preprocessing import Preprocessing

        scorer = FpgaScorer.from_bundle(self.bundle)
        data = load_bundle(self.bundle, target="fpga").manifest.target_info.get("preprocessing")
        if self.model is not None:
            pre = _load_preprocessing_from_model(self.model, "--l1-model")
        elif isinstance(data, dict):
            try:
                pre = Preprocessing.from_dict(data)
            except (KeyError, TypeError, ValueError) as exc:
                raise TrigkitError(
                    f"--l1-bundle {self.bundle}: target_info.preprocessing invalid ({exc}); "
                    "pass --l1-model MODEL.pt"
                ) from None
        else:
            raise TrigkitError(
                f"--l1-bundle {self.bundle}: the bundle has no preprocessing to build the "
                "tagger features with; pass --l1-model MODEL.pt"
            )
        _check_kind(pre, f"--l1-bundle {self.bundle}")
        net = scorer.network
        if len(pre.input_names) != 1 or len(pre.feature_names) != net.n_inputs:
            raise TrigkitError(
                f"--l1-bundle {self.bundle}: firmware takes {net.n_inputs} inputs, the model's "
                f"preprocessing gives {len(pre.feature_names)} features in "
                f"{len(pre.input_names)} input(s)"
            )
        self._state.update(pre=pre, scorer=scorer, col=_score_column(net.output_names))

    @property
    def description(self) -> str:
        return f"bit-exact firmware emulation of FPGA bundle {self.bundle}"

    def collection_for(self, batch: EventBatch) -> str:
        return collection_for_kind(self._state["pre"].kind, batch)

    def flat_scores(self, batch: EventBatch) -> np.ndarray:
        xs, idx = jet_rows(batch, self._state["pre"])
        y = self._state["scorer"].probs(xs[0])
        self.calls += len(idx)
        score = y[:, self._state["col"]].astype(np.float32)
        what = f"L1 bundle {self.bundle}"
        return _scatter(batch, idx, score, what, self.collection_for(batch))


def l1_latency_cycles(bundle: Path) -> tuple[int, float]:
    """(latency in cycles, clock in MHz) of an FPGA bundle's firmware from the analytic estimate."""
    from trigkit.bundle.manifest import load_bundle
    from trigkit.firmware.estimate import estimate_network
    from trigkit.firmware.fpga_report import load_network

    net = load_network(load_bundle(bundle, target="fpga"))
    if net is None:
        raise TrigkitError(f"--l1-bundle {bundle}: no firmware network in the bundle")
    return int(estimate_network(net).latency_cycles), 1e3 / float(net.clock_period_ns)
