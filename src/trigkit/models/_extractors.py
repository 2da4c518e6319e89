"""The per-kind feature computations behind :func:`trigkit.models.features.extract`."""

from __future__ import annotations

from collections.abc import Callable

import awkward as ak
import numpy as np

from trigkit.core.errors import TrigkitError
from trigkit.events.batch import EventBatch
from trigkit.events.jagged import padded
from trigkit.models.feature_set import FeatureSet, require_fields
from trigkit.models.kinds import NANO_SCORE_FIELDS, KindSpec

_EPS = 1e-6


def _flat(objs: ak.Array) -> tuple[ak.Array, np.ndarray, np.ndarray]:
    """Objects flattened over events, with their event and in-event indices."""
    counts = ak.to_numpy(ak.num(objs, axis=1)).astype(np.int64)
    event_index = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    object_index = ak.to_numpy(ak.flatten(ak.local_index(objs, axis=1))).astype(np.int64)
    return ak.flatten(objs, axis=1), event_index, object_index


def _np(x: ak.Array) -> np.ndarray:
    return np.asarray(ak.to_numpy(x), dtype=np.float64)


def _sequence(cols: dict[str, ak.Array], n_max: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    first = next(iter(cols.values()))
    counts = ak.to_numpy(ak.num(first, axis=1)) if n else np.zeros(0, np.int64)
    mask = np.arange(n_max)[None, :] < np.minimum(counts, n_max)[:, None]
    if n == 0:
        return np.zeros((0, n_max, len(cols)), np.float32), mask.reshape(0, n_max)
    x = np.stack([padded(v, n_max) for v in cols.values()], axis=-1)
    x[~mask] = 0.0
    return x.astype(np.float32), mask


def _make(
    batch: EventBatch,
    spec: KindSpec,
    inputs: dict[str, np.ndarray],
    labels: np.ndarray,
    ev: np.ndarray,
    obj: np.ndarray,
    aux: dict[str, np.ndarray],
    keep: np.ndarray,
    objects: str = "jets",
) -> FeatureSet:
    return FeatureSet(
        kind=spec.kind,
        inputs={k: v[keep] for k, v in inputs.items()},
        feature_names=spec.feature_names,
        labels=labels[keep].astype(np.int64),
        class_names=spec.class_names,
        event_index=ev[keep],
        object_index=obj[keep],
        weights=batch.weight[ev][keep].astype(np.float64),
        aux={k: v[keep] for k, v in aux.items()},
        source=batch.source or batch.process,
        objects=objects,
    )


def l1_objects(batch: EventBatch) -> tuple[ak.Array, str]:
    """(the jets an L1 tagger reads, their collection name): the L1 jets with their L1 tracks
    when the events have them (:attr:`EventBatch.has_l1_tracks`), else the offline jets with
    their offline tracks (NanoAOD, the fast engine, files made before L1 tracks)."""
    coll = batch.l1_tagger_collection
    objs = batch.objects(coll)
    assert objs is not None  # has_l1_tracks implies l1jets
    return objs, coll


def _flavour_labels(hadron_flavour: np.ndarray) -> np.ndarray:
    """b / c / light = 0 / 1 / 2; -1 for unknown flavour."""
    lab = np.full(len(hadron_flavour), -1, np.int64)
    lab[hadron_flavour == 5] = 0
    lab[hadron_flavour == 4] = 1
    lab[hadron_flavour == 0] = 2
    return lab


def _l1_labels(jets: ak.Array, hf: np.ndarray) -> np.ndarray:
    """b / c / uds / gluon / pileup = 0..4."""
    pf = np.abs(_np(jets["parton_flavour"]).astype(np.int64))
    pu = ak.to_numpy(jets["is_pileup"]).astype(bool)
    labels = np.where(pf == 21, 3, 2)
    labels = np.where(hf == 4, 1, labels)
    labels = np.where(hf == 5, 0, labels)
    return np.where(pu, 4, labels).astype(np.int64)


def _log_ratio(num: ak.Array, den: ak.Array) -> ak.Array:
    """log(num/den) with both clipped at _EPS; NaN/Inf inputs stay NaN/Inf (no numpy warning) so
    the finite-feature check reports them with their field name."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.log(np.maximum(num, _EPS) / np.maximum(den, _EPS))


def tracks(batch: EventBatch, spec: KindSpec, n_max: int) -> FeatureSet:
    objs, coll = l1_objects(batch) if spec.kind == "l1tracks" else (batch.jets, "jets")
    require_fields(objs, ("pt", "eta", "hadron_flavour", "tracks"), f"{coll}.", batch)
    if spec.kind == "l1tracks":
        require_fields(objs, ("parton_flavour", "is_pileup"), f"{coll}.", batch)
    jets, ev, obj = _flat(objs)
    trk = jets["tracks"]
    require_fields(trk, ("pt", "deta", "dphi", "d0", "d0_sig", "z0_sig"), f"{coll}.tracks.", batch)
    jet_pt = jets["pt"]
    cols = {
        "d0_sig": trk["d0_sig"],
        "z0_sig": trk["z0_sig"],
        "log_pt_frac": _log_ratio(trk["pt"], jet_pt),
        "deta": trk["deta"],
        "dphi": trk["dphi"],
        "d0": trk["d0"],
    }
    x, mask = _sequence(cols, n_max, len(jets))
    hf = _np(jets["hadron_flavour"]).astype(np.int64)
    labels = _l1_labels(jets, hf) if spec.kind == "l1tracks" else _flavour_labels(hf)
    aux = {
        "pt": _np(jet_pt),
        "eta": _np(jets["eta"]),
        "hadron_flavour": hf.astype(np.float64),
        "n_tracks": _np(ak.num(trk, axis=1)),
    }
    inputs = {"tracks": x, "mask": mask}
    return _make(batch, spec, inputs, labels, ev, obj, aux, labels >= 0, coll)


def constituents(batch: EventBatch, spec: KindSpec, n_max: int) -> FeatureSet:
    if batch.fatjets is None:
        raise TrigkitError(
            f"{batch.source or batch.process}: events have no field 'fatjets' "
            "needed for Xbb features"
        )
    require_fields(
        batch.fatjets, ("pt", "eta", "msd", "tau21", "label", "constituents"), "fatjets.", batch
    )
    fat, ev, obj = _flat(batch.fatjets)
    con = fat["constituents"]
    require_fields(con, ("pt", "deta", "dphi", "d0_sig", "charge"), "fatjets.constituents.", batch)
    cols = {
        "log_pt_frac": np.log(np.maximum(con["pt"], _EPS) / np.maximum(fat["pt"], _EPS)),
        "deta": con["deta"],
        "dphi": con["dphi"],
        "dr": np.sqrt(con["deta"] ** 2 + con["dphi"] ** 2),
        "d0_sig": con["d0_sig"],
        "charge": con["charge"] * 1.0,
    }
    x, mask = _sequence(cols, n_max, len(fat))
    labels = np.where(_np(fat["label"]) == 1, 0, 1).astype(np.int64)
    aux = {k: _np(fat[k]) for k in ("pt", "eta", "msd", "tau21")}
    aux["mass"] = _np(fat["mass"]) if "mass" in fat.fields else aux["msd"]
    return _make(
        batch,
        spec,
        {"constituents": x, "mask": mask},
        labels,
        ev,
        obj,
        aux,
        np.ones(len(labels), bool),
    )


def _nth(values: ak.Array, k: int, fill: float) -> np.ndarray:
    srt = ak.sort(values, axis=1, ascending=False)
    return _np(ak.fill_none(ak.pad_none(srt, k + 1, axis=1)[:, k], fill))


def l1jets(batch: EventBatch, spec: KindSpec, n_max: int) -> FeatureSet:
    objs, coll = l1_objects(batch)
    require_fields(
        objs,
        ("pt", "eta", "mass", "hadron_flavour", "parton_flavour", "is_pileup", "tracks"),
        f"{coll}.",
        batch,
    )
    jets, ev, obj = _flat(objs)
    trk = jets["tracks"]
    require_fields(
        trk, ("pt", "deta", "dphi", "d0", "z0", "d0_sig", "z0_sig"), f"{coll}.tracks.", batch
    )
    pt = np.maximum(_np(jets["pt"]), _EPS)
    tpt = trk["pt"]
    sum_pt = _np(ak.sum(tpt, axis=1))
    dr = np.sqrt(trk["deta"] ** 2 + trk["dphi"] ** 2)
    d0s = trk["d0_sig"]
    cols = [
        np.log(pt),
        np.abs(_np(jets["eta"])),
        _np(jets["mass"]) / pt,
        _np(ak.num(trk, axis=1)),
        sum_pt / pt,
        _np(ak.fill_none(ak.max(tpt, axis=1), 0.0)) / pt,
        _np(ak.sum(tpt * dr, axis=1)) / np.maximum(sum_pt, _EPS),
        _nth(d0s, 0, 0.0),
        _nth(d0s, 1, 0.0),
        _nth(d0s, 2, 0.0),
        _np(ak.fill_none(ak.max(trk["d0"], axis=1), 0.0)),
        _np(ak.sum(d0s > 2.0, axis=1)),
        _np(ak.sum(d0s > 3.0, axis=1)),
        _np(ak.sum(ak.where(d0s > 20.0, 20.0, ak.where(d0s > 0.0, d0s, 0.0)), axis=1)),
        _np(ak.sum(np.abs(trk["z0"]), axis=1)) / np.maximum(_np(ak.num(trk, axis=1)), 1.0),
        _np(ak.fill_none(ak.max(np.abs(trk["z0_sig"]), axis=1), 0.0)),
    ]
    x = np.stack(cols, axis=-1).astype(np.float32) if len(jets) else np.zeros((0, 16), np.float32)
    hf = _np(jets["hadron_flavour"]).astype(np.int64)
    labels = _l1_labels(jets, hf)
    aux = {"pt": pt, "eta": _np(jets["eta"]), "hadron_flavour": hf.astype(np.float64)}
    keep = np.ones(len(labels), bool)
    return _make(batch, spec, {"jets": x}, labels, ev, obj, aux, keep, coll)


def nanojets(batch: EventBatch, spec: KindSpec, n_max: int) -> FeatureSet:
    fields = set(batch.jets.fields)
    score = next((f for f in NANO_SCORE_FIELDS if f in fields), None)
    if score is None:
        raise TrigkitError(
            f"{batch.source or batch.process}: events have no jet b-tag score field "
            f"(one of {', '.join('jets.' + f for f in NANO_SCORE_FIELDS)}) for nanojets features"
        )
    require_fields(batch.jets, ("pt", "eta", "mass", "hadron_flavour"), "jets.", batch)
    jets, ev, obj = _flat(batch.jets)
    pt = np.maximum(_np(jets["pt"]), _EPS)
    cols = [np.log(pt), np.abs(_np(jets["eta"])), _np(jets["mass"]) / pt, _np(jets[score])]
    x = np.stack(cols, axis=-1).astype(np.float32) if len(jets) else np.zeros((0, 4), np.float32)
    hf = _np(jets["hadron_flavour"]).astype(np.int64)
    labels = _flavour_labels(hf)
    aux = {"pt": pt, "eta": _np(jets["eta"]), "hadron_flavour": hf.astype(np.float64)}
    return _make(batch, spec, {"jets": x}, labels, ev, obj, aux, labels >= 0)


EXTRACTORS: dict[str, Callable[[EventBatch, KindSpec, int], FeatureSet]] = {
    "tracks": tracks,
    "constituents": constituents,
    "l1jets": l1jets,
    "l1tracks": tracks,
    "nanojets": nanojets,
}
