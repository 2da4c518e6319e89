from __future__ import annotations

import dataclasses
import math

import awkward as ak
import numpy as np
import pytest

from trigkit.core.errors import TrigkitError
from trigkit.models.feature_set import FeatureSet
from trigkit.models.features import extract
from trigkit.models.kinds import KINDS, L1_FEATURES

from .conftest import replace_jets


@pytest.mark.parametrize("kind", list(KINDS))
def test_shapes_dtypes_and_labels(events, kind):
    if kind == "nanojets":
        pytest.skip("generated events carry no stored b-tag score (tested on NanoAOD)")
    spec = KINDS[kind]
    fs = extract(kind, events[0])
    assert len(fs) > 100
    x = fs.inputs[spec.input_names[0]]
    assert x.dtype == np.float32
    if spec.is_sequence:
        assert x.shape == (len(fs), spec.default_max_objects, len(spec.feature_names))
        mask = fs.inputs["mask"]
        assert mask.dtype == bool and mask.shape == x.shape[:2]
        assert np.all(x[~mask] == 0.0)
        # mask is a prefix: real objects first, then padding
        assert np.all(np.diff(mask.astype(int), axis=1) <= 0)
    else:
        assert x.shape == (len(fs), len(spec.feature_names))
    assert fs.labels.dtype == np.int64
    assert set(np.unique(fs.labels)) <= set(range(len(spec.class_names)))
    assert len(fs.event_index) == len(fs.object_index) == len(fs.weights) == len(fs)


def test_track_features_match_hand_computation(hh4b):
    fs = extract("btag-deepsets", hh4b)
    names = fs.feature_names
    rng = np.random.default_rng(0)
    for row in rng.choice(len(fs), 20, replace=False):
        jet = hh4b.jets[int(fs.event_index[row])][int(fs.object_index[row])].to_list()
        tracks = jet["tracks"]
        n = min(len(tracks), 15)
        assert fs.inputs["mask"][row].sum() == n
        assert fs.aux["pt"][row] == pytest.approx(float(jet["pt"]), rel=1e-6)
        hf = int(jet["hadron_flavour"])
        assert fs.labels[row] == {5: 0, 4: 1, 0: 2}[hf]
        for i in range(n):
            t = tracks[i]
            got = fs.inputs["tracks"][row, i]
            assert got[names.index("d0_sig")] == pytest.approx(float(t["d0_sig"]), rel=1e-6)
            assert got[names.index("z0_sig")] == pytest.approx(float(t["z0_sig"]), rel=1e-6)
            assert got[names.index("dphi")] == pytest.approx(float(t["dphi"]), rel=1e-6)
            assert got[names.index("d0")] == pytest.approx(float(t["d0"]), rel=1e-6)
            want = math.log(float(t["pt"]) / float(jet["pt"]))
            assert got[names.index("log_pt_frac")] == pytest.approx(want, rel=1e-5, abs=1e-5)


def test_l1_features_match_python_loop(hh4b):
    fs = extract("l1-mlp", hh4b)
    assert fs.feature_names == L1_FEATURES and len(L1_FEATURES) == 16
    col = {n: i for i, n in enumerate(L1_FEATURES)}
    for row in range(0, len(fs), max(1, len(fs) // 25)):
        jet = hh4b.jets[int(fs.event_index[row])][int(fs.object_index[row])]
        trk = ak.to_list(jet["tracks"])
        pt = float(jet["pt"])
        d0s = sorted((t["d0_sig"] for t in trk), reverse=True) + [0.0, 0.0, 0.0]
        spt = sum(t["pt"] for t in trk)
        width = sum(t["pt"] * math.hypot(t["deta"], t["dphi"]) for t in trk) / max(spt, 1e-6)
        x = fs.inputs["jets"][row]
        assert x[col["n_tracks"]] == len(trk)
        assert x[col["log_pt"]] == pytest.approx(math.log(pt), rel=1e-5)
        assert x[col["track_pt_frac"]] == pytest.approx(spt / pt, rel=1e-4, abs=1e-6)
        assert x[col["width"]] == pytest.approx(width, rel=1e-4, abs=1e-6)
        assert x[col["d0sig_1"]] == pytest.approx(d0s[0], rel=1e-5, abs=1e-6)
        assert x[col["d0sig_2"]] == pytest.approx(d0s[1], rel=1e-5, abs=1e-6)
        assert x[col["n_d0sig_gt3"]] == sum(t["d0_sig"] > 3 for t in trk)
        want_label = (
            4
            if jet["is_pileup"]
            else {5: 0, 4: 1}.get(
                int(jet["hadron_flavour"]), 3 if abs(int(jet["parton_flavour"])) == 21 else 2
            )
        )
        assert fs.labels[row] == want_label


def test_xbb_labels_and_aux(hh4b):
    fs = extract("xbb-pfn", hh4b)
    fat = ak.flatten(hh4b.fatjets, axis=1)
    assert len(fs) == len(fat)
    np.testing.assert_array_equal(fs.labels, np.where(ak.to_numpy(fat["label"]) == 1, 0, 1))
    np.testing.assert_allclose(fs.aux["msd"], ak.to_numpy(fat["msd"]), rtol=1e-6)
    assert (fs.labels == 0).any() and (fs.labels == 1).any()


def test_max_objects_and_select_concatenate(hh4b, qcd):
    fs = extract("tracks", hh4b, max_objects=4)
    assert fs.inputs["tracks"].shape[1] == 4
    both = FeatureSet.concatenate([extract("tracks", hh4b), extract("tracks", qcd)])
    assert len(both) == len(extract("tracks", hh4b)) + len(extract("tracks", qcd))
    sub = both.select(np.arange(10))
    assert len(sub) == 10 and sub.inputs["tracks"].shape == (10, 15, 6)
    with pytest.raises(TrigkitError, match="cannot combine"):
        FeatureSet.concatenate([extract("tracks", hh4b), extract("l1jets", hh4b)])


def test_empty_batch_gives_empty_features(hh4b):
    fs = extract("btag-deepsets", hh4b[:0])
    assert len(fs) == 0 and fs.inputs["tracks"].shape == (0, 15, 6)


def test_missing_field_names_field_and_file(hh4b):
    batch = replace_jets(hh4b[:50], ak.without_field(hh4b[:50].jets, ("tracks", "d0_sig")))
    with pytest.raises(TrigkitError, match=r"jets\.tracks\.d0_sig") as exc:
        extract("btag-deepsets", batch)
    assert (hh4b.source or hh4b.process) in str(exc.value)
    no_fat = dataclasses.replace(hh4b[:50], fatjets=None)
    with pytest.raises(TrigkitError, match="fatjets"):
        extract("xbb-pfn", no_fat)
    with pytest.raises(TrigkitError, match="btag_deepflav"):
        extract("btag-jetmlp", hh4b[:50])


def test_nan_features_are_refused_with_count_and_field(hh4b):
    b = hh4b[:100]
    d0s = b.jets["tracks", "d0_sig"]
    flat = ak.to_numpy(ak.flatten(d0s, axis=None)).copy()
    flat[:3] = np.nan
    counts_j = ak.num(d0s, axis=2)
    counts_e = ak.num(d0s, axis=1)
    new = ak.unflatten(ak.unflatten(flat, ak.flatten(counts_j)), counts_e)
    bad = replace_jets(b, ak.with_field(b.jets, new, ("tracks", "d0_sig")))
    with pytest.raises(TrigkitError, match=r"3 NaN/Inf .* 'd0_sig'"):
        extract("btag-deepsets", bad)


def test_unknown_model_lists_valid_names(hh4b):
    with pytest.raises(TrigkitError, match="unknown model 'nope'; valid: .*btag-deepsets.*l1-mlp"):
        extract("nope", hh4b)
