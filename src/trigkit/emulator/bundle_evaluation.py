"""`trigkit evaluate` on a tagger trained elsewhere: its bundle's scores on trigkit's jets,
against trigkit's baselines on the same jets.

The bundle scores every object through a feature map (:mod:`.mapped_taggers`: a gpu bundle in
onnxruntime, an fpga bundle in its bit-exact firmware emulation). trigkit's own features
(:func:`trigkit.models.features.extract`) pick the objects that are evaluated and label them:
for a b-tagger (``btag``) the jets by hadron flavour (b / c / light, kind ``tracks``), for an
Xbb tagger (``xbb``) the large-R jets (H->bb / QCD, kind ``constituents``); their
``event_index`` / ``object_index`` find each one's score. The baselines (IP3D likelihood and
second-highest d0 significance; mass + tau21) are fitted on the objects of even events and
every tagger, the bundle's included, is measured on the odd ones, so no baseline is measured
on the objects it was fitted on.
"""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np

from trigkit.core.errors import TrigkitError
from trigkit.emulator.mapped_taggers import MappedFpgaScores, MappedGpuScores
from trigkit.events.batch import EventBatch
from trigkit.models.baselines import fit_baselines
from trigkit.models.evaluation import Evaluation, evaluate_scores
from trigkit.models.feature_set import FeatureSet
from trigkit.models.features import extract

FLAG = "evaluate"
#: what a tagger scores -> (the collection its feature map reads, trigkit's feature kind)
TAGGERS = {"btag": ("jets", "tracks"), "xbb": ("fatjets", "constituents")}


def evaluate_bundle(
    bundle: Path, feature_map: Path | None, batches: list[EventBatch], tagger: str = "btag"
) -> tuple[Evaluation, str]:
    """(metrics of the bundle and of the baselines on the odd events' objects, the score's
    description); ``tagger``: btag (jets) or xbb (large-R jets)."""
    from trigkit.bundle.manifest import load_bundle

    if tagger not in TAGGERS:
        raise TrigkitError(f"--tagger {tagger}: unknown; valid: {', '.join(TAGGERS)}")
    collection, kind = TAGGERS[tagger]
    b = load_bundle(bundle)
    source: MappedGpuScores | MappedFpgaScores
    if b.manifest.target == "gpu":
        source = MappedGpuScores(bundle, feature_map, flag=FLAG, collection=collection)
    elif collection != "jets":
        raise TrigkitError(f"{FLAG} {bundle}: an fpga bundle scores jets (--tagger btag)")
    else:
        source = MappedFpgaScores(bundle, feature_map, flag=FLAG)
    sets, scores = [], []
    for batch in batches:
        fs = extract(kind, batch)
        sets.append(fs)
        scores.append(jet_scores(source.flat_scores(batch), batch, fs, collection))
    fs, x = FeatureSet.concatenate(sets), np.concatenate(scores)
    fit = fs.event_index % 2 == 0
    if fit.all() or not fit.any():
        raise TrigkitError(
            f"{FLAG} {bundle}: {len(batches)} event file(s) with {int(fit.sum())} {collection} "
            f"in even and {int((~fit).sum())} in odd events; the baselines are fitted on the "
            "even events and every tagger is measured on the odd ones, so both are needed"
        )
    test = fs.select(~fit)
    ev = evaluate_scores(b.manifest.model_name, x[~fit], test, tuple(fit_baselines(fs.select(fit))))
    return ev, source.description


def jet_scores(
    flat: np.ndarray, batch: EventBatch, fs: FeatureSet, collection: str = "jets"
) -> np.ndarray:
    """The scores of ``fs``'s objects, from ``flat`` (one per object of ``batch.<collection>``,
    event-major; a constituents FeatureSet indexes the large-R jets though its ``objects``
    says jets)."""
    n = int(ak.sum(ak.num(batch.objects(collection), axis=1)))
    if len(flat) != n:
        raise TrigkitError(f"{len(flat)} scores for {n} {collection} of {batch.source}")
    return np.asarray(flat, dtype=np.float64)[fs.flat_index(batch, collection)]
