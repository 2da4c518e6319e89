"""Taggers trained elsewhere as score sources: a bundle fed through a :class:`FeatureMap`.

``trigkit compile model.onnx`` bundles carry no trigkit feature extractor, so the jets' inputs
come from a ``--feature-map`` file (or the bundle's preprocessing feature names when they name
jet fields, see :mod:`trigkit.emulator.feature_map`). Rows are the raw jet fields; the bundle's
stored preprocessing (``target_info.imported.preprocessing`` / ``target_info.preprocessing``:
per-feature ``(raw - offset) / scale``) is applied before the model, as ``trigkit compile
--preprocessing`` recorded it. One row per jet, so every jet gets a score (NaN where an input
is NaN). The score is output column ``score`` of the map, else class ``b``, else column 0.
A set input (DeepSets / Conv1D: ``[n, n_const, n_feat]``) is filled from the jet's first
``n_const`` tracks (:class:`SetInput`; map entries ``tracks.<field>``). A gpu bundle with
several inputs (a whole graph, e.g. weaver-core's ParticleNet) is filled input by input from the
map's ``inputs`` (:class:`InputFill`: jet fields, the jets' tracks, or their mask).
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path
from typing import Any

import numpy as np

from trigkit.core.errors import TrigkitError
from trigkit.emulator.bundle_scorers import FpgaScorer, GpuScorer
from trigkit.emulator.feature_map import (
    OBJECTS,
    FeatureMap,
    InputMap,
    load_feature_map,
    map_from_names,
)
from trigkit.events.batch import EventBatch


def _scaling(info: dict[str, Any], where: str) -> Any:  # noqa: ANN401 - FeatureScaling | None
    from trigkit.importers.preprocessing import FeatureScaling

    data = (info.get("imported") or {}).get("preprocessing") or info.get("preprocessing")
    if info.get("torch_model") or (isinstance(data, dict) and "kind" in data):
        raise TrigkitError(
            f"{where}: a trigkit-trained bundle (trigkit extracts its features and preprocessing "
            "itself); a feature map is for models trained elsewhere: drop the feature map"
        )
    if not (isinstance(data, dict) and "features" in data):
        return None
    return FeatureScaling.parse(data, f"{where}: stored preprocessing")


def resolve_map(
    given: FeatureMap | None,
    names: tuple[str, ...],
    flag: str,
    bundle: Path,
    collection: str = "jets",
) -> FeatureMap:
    """The ``--feature-map`` (``given``, read), else one from the bundle's feature names; else
    one error."""
    if given is not None:
        return given
    fm = map_from_names(names, f"{flag} {bundle} (stored feature names)", collection)
    if fm is None:
        raise TrigkitError(
            f"{flag} {bundle}: a model trained elsewhere needs --feature-map FILE (which jet "
            f"field feeds each input); its stored feature names ({', '.join(names) or 'none'}) "
            "do not all name jet fields"
        )
    return fm


def _check_width(fm: FeatureMap, width: int, scaling: Any, where: str) -> None:  # noqa: ANN401
    o = fm.objects
    if fm.per_track:
        raise TrigkitError(
            f"{where}: the feature map gives per-track features ({', '.join(fm.labels)}), "
            f"which fill a set input, but the model takes one row of {width} features per "
            f"{o.noun}: name {o.noun} fields or index the {o.child} ({o.child}.<field>[k])"
        )
    if len(fm.sources) != width:
        raise TrigkitError(
            f"{where}: the feature map gives {len(fm.sources)} features "
            f"({', '.join(fm.labels)}) but the model takes {width} per {o.noun}"
        )
    if scaling is not None:
        scaling.check_width(width, f"{where}: stored preprocessing")


@dataclass(frozen=True)
class SetInput:
    """A set input ``input`` of ``n_const`` constituents x ``n_feat`` features per jet;
    ``channels_first``: the model reads ``[n, n_feat, n_const]``."""

    input: str
    n_const: int
    n_feat: int
    channels_first: bool = False

    @property
    def label(self) -> str:
        return f"'{self.input}' ({self.n_const} constituents x {self.n_feat} features)"

    def check(self, fm: FeatureMap, scaling: Any, where: str) -> None:  # noqa: ANN401
        """The map fills this input: per-track features (or every element, flat); else one
        error naming the input."""
        if fm.per_track and len(fm.sources) != self.n_feat:
            raise TrigkitError(
                f"{where}: set input {self.label} but the feature map gives {len(fm.sources)} "
                f"per-track features ({', '.join(fm.labels)})"
            )
        if not fm.per_track and len(fm.sources) != self.n_const * self.n_feat:
            o = fm.objects
            raise TrigkitError(
                f"{where}: set input {self.label} cannot be filled from {len(fm.sources)} "
                f"{o.noun} features ({', '.join(fm.labels)}); list its {self.n_feat} "
                f"per-constituent features as {o.child}.<field> (the {o.noun}'s {o.child} "
                "become its constituents)"
            )
        if scaling is not None:
            scaling.check_width(self.n_feat, f"{where}: stored preprocessing")

    def rows(self, fm: FeatureMap, batch: EventBatch, scaling: Any) -> np.ndarray:  # noqa: ANN401
        """float64 ``[n_jets, n_const, n_feat]`` (constituent-major), preprocessing applied."""
        if fm.per_track:
            x = fm.set_rows(batch, self.n_const)
        else:  # every element named: tracks.<field>[k] in constituent-major order
            x = fm.rows(batch).reshape(-1, self.n_const, self.n_feat)
        return scaling.apply(x) if scaling is not None else x


def _inputs_label(fm: FeatureMap, set_in: SetInput | None) -> str:
    labels, o = ", ".join(fm.labels), fm.objects
    if set_in is None:
        return f"{o.noun} fields {labels}"
    if fm.per_track:
        first = f"the {o.collection}' first {set_in.n_const} {o.child}"
        return f"{first} ({labels}) as set input {set_in.label}"
    return f"{o.noun} fields {labels} as set input {set_in.label}"


def _resolve_set(
    given: FeatureMap | None, set_in: SetInput, flag: str, bundle: Path, collection: str = "jets"
) -> FeatureMap:
    if given is None:
        child = OBJECTS[collection].child
        raise TrigkitError(
            f"{flag} {bundle}: set input {set_in.label} needs --feature-map FILE listing its "
            f"per-constituent features as {child}.<field> (the {child} become its "
            "constituents)"
        )
    return given


def _gpu_set_input(spec: Any, info: dict[str, Any]) -> SetInput | None:  # noqa: ANN401
    if len(spec.shape) != 3:
        return None
    cf = bool((info.get("imported") or {}).get("channels_first"))
    a, b = int(spec.shape[1]), int(spec.shape[2])
    return SetInput(spec.name, b, a, True) if cf else SetInput(spec.name, a, b)


def _fpga_set_input(net: Any, name: str) -> SetInput | None:  # noqa: ANN401
    first = net.layers[0]
    if first.kind not in ("pointwise", "conv1d") or first.n_const <= 1:
        return None
    return SetInput(name, first.n_const, net.n_inputs // first.n_const)


def _column(fm: FeatureMap, names: list[str] | tuple[str, ...], n_out: int, where: str) -> int:
    col = fm.score if fm.score is not None else (list(names).index("b") if "b" in names else 0)
    if col >= n_out:
        raise TrigkitError(f"{where}: score column {col} but the model has {n_out} outputs")
    return col


@dataclass(frozen=True)
class InputFill:
    """One input of a several-input model: ``shape`` beyond the batch, filled by ``entry``
    (``set_in``: its constituents and layout, for tracks and masks)."""

    input: str
    shape: tuple[int, ...]
    entry: InputMap
    set_in: SetInput | None

    def rows(self, fm: FeatureMap, batch: EventBatch) -> np.ndarray:
        """float32 rows of this input for every jet of ``batch``."""
        if self.entry.mask:
            assert self.set_in is not None
            x = fm.mask_rows(batch, self.set_in.n_const).reshape(-1, *self.shape)
        elif self.set_in is None:
            x = self.entry.standardise(fm.with_sources(self.entry.sources).rows(batch))
        else:
            n = self.set_in.n_const
            x = self.entry.standardise(fm.with_sources(self.entry.sources).set_rows(batch, n))
            x[fm.mask_rows(batch, n) == 0] = fm.fill  # padding stays `fill`
            x = np.swapaxes(x, 1, 2) if self.set_in.channels_first else x
        return np.ascontiguousarray(x, dtype=np.float32)

    @property
    def label(self) -> str:
        return f"{self.input} <- {', '.join(self.entry.labels)}"


def input_fills(specs: list[Any], fm: FeatureMap, where: str) -> tuple[InputFill, ...]:
    """How each of the bundle's inputs ``specs`` is filled by the map's ``inputs``; one error
    naming the input when the map does not fit."""
    given = dict(fm.inputs)
    names = [t.name for t in specs]
    if not given:
        raise TrigkitError(
            f"{where}: the model takes {len(specs)} inputs ({', '.join(names)}); the feature map "
            "gives one list of features: give inputs: {name: {features: [...]} or "
            "{mask: true}} with one entry per input"
        )
    missing = [n for n in names if n not in given]
    unknown = [n for n in given if n not in names]
    if missing or unknown:
        raise TrigkitError(
            f"{where}: the feature map's inputs ({', '.join(given)}) are not the model's "
            f"({', '.join(names)})"
            + (f"; missing: {', '.join(missing)}" if missing else "")
            + (f"; unknown: {', '.join(unknown)}" if unknown else "")
        )
    return tuple(_fill(t.name, tuple(t.shape[1:]), given[t.name], where) for t in specs)


def _fill(name: str, shape: tuple[int, ...], entry: InputMap, where: str) -> InputFill:
    at = f"{where}: input '{name}' {list(shape)}"
    n = len(entry.sources)
    if entry.mask:
        if len(shape) == 1 or (len(shape) == 2 and 1 in shape):
            n_const = max(shape)
            return InputFill(name, shape, entry, SetInput(name, n_const, 1, shape[0] == 1))
        raise TrigkitError(f"{at}: a track mask fills [n_const], [1, n_const] or [n_const, 1]")
    if not entry.sources[0].per_track:
        if shape != (n,):
            raise TrigkitError(f"{at}: the feature map gives {n} jet features for it")
        return InputFill(name, shape, entry, None)
    if len(shape) != 2 or n not in shape:
        raise TrigkitError(
            f"{at}: {n} per-track features ({', '.join(entry.labels)}) fill [n_const, {n}] or, "
            f"channels first, [{n}, n_const]"
        )
    first = _channels_first(shape, n, entry.layout, at)
    n_const = shape[1] if first else shape[0]
    return InputFill(name, shape, entry, SetInput(name, n_const, n, first))


def _channels_first(shape: tuple[int, ...], n: int, layout: str | None, at: str) -> bool:
    if layout is not None:
        first = layout == "channels_first"
        if (shape[0] if first else shape[1]) != n:
            raise TrigkitError(f"{at}: layout {layout} puts {n} features on the wrong axis")
        return first
    if shape[0] == shape[1]:
        raise TrigkitError(
            f"{at}: square, so its layout is ambiguous; give layout: channels_first "
            "([features, constituents]) or channels_last"
        )
    return shape[0] == n


@dataclass
class MappedGpuScores:
    """``jets.<field>`` from a GPU bundle (onnxruntime) fed through a feature map."""

    bundle: Path
    feature_map: Path | None = None
    field: str = "btag"
    backend: str = "onnxruntime"
    collection: str = "jets"
    flag: str = "--btag-bundle"
    calls: int = 0
    _state: dict[str, Any] = dc_field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        from trigkit.bundle.manifest import load_bundle

        b = load_bundle(self.bundle, target="gpu")
        where = f"{self.flag} {self.bundle}"
        info, out = b.manifest.target_info, b.manifest.outputs[0]
        names = info.get("class_names") or out.features
        scorer = GpuScorer.from_info(self.bundle, info, self.backend, nan_policy="pass")
        coll = self.collection
        given = None if self.feature_map is None else load_feature_map(self.feature_map, coll)
        if len(b.manifest.inputs) > 1 or (given is not None and given.inputs):
            self._fill_inputs(b, given, where, names, scorer)
            return
        spec = b.manifest.inputs[0]
        if len(spec.shape) not in (2, 3):
            raise TrigkitError(
                f"{where}: a feature map fills one (batch, features) or (batch, constituents, "
                f"features) input; the bundle takes {spec.name}{list(spec.shape)}"
            )
        scaling = _scaling(info, where)
        set_in = _gpu_set_input(spec, info)
        if set_in is None:
            fm = resolve_map(given, tuple(spec.features), self.flag, self.bundle, coll)
            _check_width(fm, spec.shape[1], scaling, where)
        else:
            fm = _resolve_set(given, set_in, self.flag, self.bundle, coll)
            set_in.check(fm, scaling, where)
        self._state.update(
            map=fm,
            fills=(),
            scaling=scaling,
            set_input=set_in,
            input=spec.name,
            col=_column(fm, names, out.shape[-1], where),
            n_out=out.shape[-1],
            scorer=scorer,
        )

    def _fill_inputs(
        self,
        b: Any,  # noqa: ANN401 - a Bundle
        fm: FeatureMap | None,
        where: str,
        names: Any,  # noqa: ANN401
        scorer: GpuScorer,
    ) -> None:
        """A map with ``inputs`` (``fm``, read): one :class:`InputFill` per model input."""
        if fm is None:
            raise TrigkitError(
                f"{where}: a model with inputs "
                f"{', '.join(t.name for t in b.manifest.inputs)} needs --feature-map FILE "
                "with one entry per input under inputs:"
            )
        if _scaling(b.manifest.target_info, where) is not None:
            raise TrigkitError(
                f"{where}: the bundle's stored preprocessing scales a features: [...] map; "
                "give the map as features: [...]"
            )
        out = b.manifest.outputs[0]
        self._state.update(
            map=fm,
            fills=input_fills(b.manifest.inputs, fm, where),
            set_input=None,
            scorer=scorer,
            col=_column(fm, names, out.shape[-1], where),
            n_out=out.shape[-1],
        )

    @property
    def description(self) -> str:
        fills = self._state["fills"]
        if fills:
            on = "; ".join(f.label for f in fills)
        else:
            on = _inputs_label(self._state["map"], self._state["set_input"])
        return f"GPU bundle {self.bundle} ({self.backend}) on {on}"

    def features(self, batch: EventBatch) -> np.ndarray:
        """float32 [n_jets, n_features] (a set input: [n_jets, n_const, n_feat], or
        [n_jets, n_feat, n_const] channels first): the model inputs, preprocessing applied."""
        fm, scaling, set_in = (self._state[k] for k in ("map", "scaling", "set_input"))
        if set_in is not None:
            x = set_in.rows(fm, batch, scaling)
            return (np.swapaxes(x, 1, 2) if set_in.channels_first else x).astype(np.float32)
        x = fm.rows(batch)
        return (scaling.apply(x) if scaling is not None else x).astype(np.float32)

    def feed(self, batch: EventBatch) -> dict[str, np.ndarray]:
        """Input name -> float32 rows, one per jet of ``batch``, for every model input."""
        fills = self._state["fills"]
        if fills:
            return {f.input: f.rows(self._state["map"], batch) for f in fills}
        return {self._state["input"]: self.features(batch)}

    def flat_scores(self, batch: EventBatch) -> np.ndarray:
        feed = self.feed(batch)
        p = self._state["scorer"].probs(feed, self._state["n_out"])
        self.calls += len(p)
        return p[:, self._state["col"]].astype(np.float32)


def is_foreign(bundle: Path, target: str) -> bool:
    """Whether a bundle was built from a model file trained elsewhere (``trigkit compile``)."""
    from trigkit.bundle.manifest import load_bundle

    return load_bundle(bundle, target=target).manifest.target_info.get("imported") is not None


@dataclass
class MappedFpgaScores:
    """``jets.<field>`` from the bit-exact firmware emulation of an FPGA bundle, fed through a
    feature map (:class:`~trigkit.emulator.bundle_scorers.FpgaScorer` runs it)."""

    bundle: Path
    feature_map: Path | None = None
    field: str = "l1_score"
    collection: str = "jets"
    flag: str = "--l1-bundle"
    calls: int = 0
    _state: dict[str, Any] = dc_field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        from trigkit.bundle.manifest import load_bundle

        b = load_bundle(self.bundle, target="fpga")
        where, info = f"{self.flag} {self.bundle}", b.manifest.target_info
        scorer = FpgaScorer.from_bundle(self.bundle)
        net = scorer.network
        names = tuple(b.manifest.inputs[0].features) or tuple(net.input_names)
        scaling = _scaling(info, where)
        set_in = _fpga_set_input(net, b.manifest.inputs[0].name)
        given = None if self.feature_map is None else load_feature_map(self.feature_map)
        if set_in is None:
            fm = resolve_map(given, names, self.flag, self.bundle)
            _check_width(fm, net.n_inputs, scaling, where)
        else:
            fm = _resolve_set(given, set_in, self.flag, self.bundle)
            set_in.check(fm, scaling, where)
        self._state.update(
            map=fm,
            scaling=scaling,
            set_input=set_in,
            scorer=scorer,
            col=_column(fm, net.output_names, net.n_outputs, where),
        )

    @property
    def description(self) -> str:
        on = _inputs_label(self._state["map"], self._state["set_input"])
        return f"bit-exact firmware emulation of FPGA bundle {self.bundle} on {on}"

    def features(self, batch: EventBatch) -> np.ndarray:
        """float64 [n_jets, n_inputs]: the firmware inputs (preprocessing applied; a set input
        flattened constituent-major, as the firmware reads it)."""
        fm, scaling, set_in = (self._state[k] for k in ("map", "scaling", "set_input"))
        if set_in is not None:
            x = set_in.rows(fm, batch, scaling)
            return np.ascontiguousarray(x.reshape(len(x), -1))
        x = fm.rows(batch)
        return scaling.apply(x) if scaling is not None else x

    def flat_scores(self, batch: EventBatch) -> np.ndarray:
        x = self.features(batch)
        y = self._state["scorer"].probs(x)
        self.calls += len(x)
        return y[:, self._state["col"]].astype(np.float32)
