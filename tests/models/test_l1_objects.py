"""The L1 tagger's features come from the L1 jets and their L1 tracks when the events have
them, and from the offline jets otherwise (labelled); a model refuses the other kind."""

from __future__ import annotations

import dataclasses

import awkward as ak
import numpy as np
import pytest

from trigkit.core.errors import TrigkitError
from trigkit.events.batch import EventBatch
from trigkit.models.feature_set import FeatureSet
from trigkit.models.features import extract
from trigkit.models.preprocessing import Preprocessing

L1_FIELDS = ("pt", "eta", "phi", "mass", "hadron_flavour", "parton_flavour", "is_pileup")


def with_l1(batch: EventBatch) -> EventBatch:
    """L1 jets unlike the offline ones: the leading offline jet dropped, pt x 0.9, at most 3
    tracks each (their d0 halved)."""
    jets = batch.jets[:, 1:]
    trk = jets.tracks[:, :, :3]
    trk = ak.with_field(trk, trk.d0 * 0.5, "d0")
    fields = {k: jets[k] for k in L1_FIELDS}
    fields["pt"] = jets.pt * np.float32(0.9)
    fields["tracks"] = trk
    return dataclasses.replace(batch, l1jets=ak.zip(fields, depth_limit=2))


@pytest.mark.parametrize("kind", ["l1jets", "l1tracks"])
def test_l1_features_read_l1jets_and_their_tracks(small, kind) -> None:
    offline = small[0][:200]
    batch = with_l1(offline)
    assert batch.has_l1_tracks and not offline.has_l1_tracks
    fs = extract(kind, batch)
    off = extract(kind, offline)
    assert fs.objects == "l1jets" and off.objects == "jets"
    n_l1 = int(ak.sum(ak.num(batch.l1jets)))
    assert len(fs) == n_l1 != len(off)
    # the rows point into l1jets: their pt (aux) is the L1 jets' pt
    pt = ak.to_numpy(batch.l1jets.pt[fs.event_index, fs.object_index]).astype(np.float64)
    np.testing.assert_allclose(fs.aux["pt"], np.maximum(pt, 1e-6), rtol=1e-6)
    if kind == "l1jets":
        np.testing.assert_allclose(fs.inputs["jets"][:, 0], np.log(pt), rtol=1e-5)  # log_pt
        ntrk = ak.to_numpy(ak.num(batch.l1jets.tracks, axis=2)[fs.event_index, fs.object_index])
        np.testing.assert_array_equal(fs.inputs["jets"][:, 3], ntrk)  # n_tracks: L1 tracks
        assert np.all(ntrk <= 3)
    else:
        n = fs.inputs["mask"].sum(axis=1)
        assert n.max() <= 3 and off.inputs["mask"].sum(axis=1).max() > 3


def test_model_refuses_features_of_the_other_objects(small) -> None:
    batch = with_l1(small[0][:200])
    pre = Preprocessing.fit(extract("l1jets", batch))
    assert pre.objects == "l1jets" and Preprocessing.from_dict(pre.to_dict()) == pre
    pre.transform(extract("l1jets", batch))
    with pytest.raises(TrigkitError, match="trained on l1jets features of l1jets"):
        pre.transform(extract("l1jets", small[0][:200]))
    with pytest.raises(TrigkitError, match="L1 tagger samples must all have L1 tracks"):
        FeatureSet.concatenate([extract("l1jets", batch), extract("l1jets", small[1][:100])])
