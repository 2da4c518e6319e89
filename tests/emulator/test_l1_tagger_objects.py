"""The L1 tagger cut reads the L1 jets' scores when the L1 jets carry L1 tracks (Pythia engine),
in both engines and through the pipeline; events without L1 tracks keep the offline jets."""

from __future__ import annotations

from dataclasses import replace

import awkward as ak
import numpy as np
import pytest
import yaml

from tests.emulator.conftest import synthetic_batch
from tests.emulator.test_cut_registry import _every_cut_menu
from trigkit.core.errors import TrigkitError
from trigkit.emulator.columns import L1_TAGGER_LABELS, columns_from_batch
from trigkit.emulator.compiled import compile_menu
from trigkit.emulator.engine.onepass import run_onepass
from trigkit.emulator.engine.reference import run_reference, run_reference_events
from trigkit.emulator.pipeline import (
    assemble_sample,
    evaluate_batch,
    needed_fields,
    prepare_batch,
    run_files,
)
from trigkit.emulator.schema import parse_menu
from trigkit.emulator.scores import CachedScores, baseline_l1_score
from trigkit.events.batch import EventBatch
from trigkit.events.parquet_io import leaf_fields, write_parquet

MENU = {
    "name": "l1tag",
    "l1": {
        "L1_Tag": {"tagger": {"wp": 0.5, "n": 2, "jet_pt": 30}},
        "L1_Jet": {"jets": {"pt": [60]}},
    },
    "hlt": {"H_B": {"seeds": ["L1_Tag"], "btag_count": {"wp": 0.5, "n": 2, "jet_pt": 30}}},
}


def with_l1(batch: EventBatch, seed: int, tracks: bool = True, score: bool = True) -> EventBatch:
    """L1 jets unlike the offline ones (pt x U(0.6, 1.3), 15 % lost, own ``l1_score``), with
    L1 tracks (d0_sig) when ``tracks``."""
    rng = np.random.default_rng(seed)
    counts = ak.to_numpy(ak.num(batch.jets))
    n = int(counts.sum())
    pt = ak.to_numpy(ak.flatten(batch.jets.pt)) * rng.uniform(0.6, 1.3, n)
    fields = {
        "pt": np.round(pt * 2).astype(np.float32) / 2,
        "eta": ak.to_numpy(ak.flatten(batch.jets.eta)),
        "phi": np.zeros(n, np.float32),
    }
    if score:
        fields["l1_score"] = (np.round(rng.random(n) * 64) / 64).astype(np.float32)
    l1 = ak.unflatten(ak.zip(fields), counts)
    if tracks:
        ntrk = rng.poisson(3, n)
        d0 = ak.unflatten(ak.zip({"d0_sig": rng.normal(1, 3, int(ntrk.sum()))}), ntrk)
        l1 = ak.with_field(l1, ak.unflatten(d0, counts), "tracks")
    keep = ak.unflatten(rng.random(n) > 0.15, counts)
    return replace(batch, l1jets=l1[keep])


def _tagged(objs: ak.Array, field: str) -> np.ndarray:
    good = (objs.pt >= 30) & (abs(objs.eta) <= 2.5) & (objs[field] >= 0.5)
    return ak.to_numpy(ak.sum(good, axis=1)) >= 2


def test_tagger_seed_reads_l1jets_scores_in_both_engines() -> None:
    """With L1 tracks, L1_Tag is the hand count on l1jets.l1_score (it would fail on the offline
    jets: they differ on many events); HLT paths keep the offline btag."""
    menu = parse_menu(yaml.safe_dump(MENU, sort_keys=False))
    cm = compile_menu(menu)
    assert cm.l1_jet_fields == ("l1_score",) and cm.hlt_jet_fields == ("btag",)
    differ = 0
    for seed in (5, 6):
        offline = synthetic_batch(500, seed, signal=True)
        batch = with_l1(offline, seed)
        cols = columns_from_batch(batch, cm)
        assert cols.l1_tagger_objects == "l1jets"
        one = run_onepass(cm, cols)
        np.testing.assert_array_equal(one, run_reference(cm, cols))
        np.testing.assert_array_equal(
            one, run_reference_events(menu, batch.jets, None, batch.l1jets, l1_scores=True)
        )
        np.testing.assert_array_equal(one[:, 0], _tagged(batch.l1jets, "l1_score"))
        differ += int(np.count_nonzero(one[:, 0] != _tagged(offline.jets, "l1_score")))
        hlt = one[:, 0] & _tagged(offline.jets, "btag")
        np.testing.assert_array_equal(one[:, 2], hlt)
        # without L1 tracks: the offline jets' l1_score, as before
        plain = with_l1(offline, seed, tracks=False)
        cols = columns_from_batch(plain, cm)
        assert cols.l1_tagger_objects == "offline jets"
        np.testing.assert_array_equal(
            run_onepass(cm, cols)[:, 0], _tagged(offline.jets, "l1_score")
        )
    assert differ > 50


def test_every_cut_menu_agrees_on_l1jets_with_scores() -> None:
    menu = parse_menu(_every_cut_menu())
    cm = compile_menu(menu)
    for seed in (31, 32):
        batch = with_l1(synthetic_batch(400, seed, signal=seed == 31), seed)
        cols = columns_from_batch(batch, cm)
        np.testing.assert_array_equal(run_onepass(cm, cols), run_reference(cm, cols))


def test_pipeline_labels_baseline_and_refuses_offline_sources(tmp_path) -> None:
    menu = parse_menu(yaml.safe_dump(MENU, sort_keys=False))
    cm = compile_menu(menu)
    offline = synthetic_batch(300, 9, signal=True, with_tracks=True)
    batch = with_l1(offline, 9, score=False)
    # the baseline stand-in goes to the L1 jets, from their L1 tracks
    got = prepare_batch(batch, menu)
    flat = ak.to_numpy(ak.flatten(got.l1jets.l1_score))
    np.testing.assert_array_equal(flat, baseline_l1_score(batch.l1jets))
    assert not np.array_equal(
        ak.to_numpy(ak.flatten(got.jets.l1_score)), baseline_l1_score(offline.jets)
    )  # the offline jets keep the synthetic score they came with
    chunk = evaluate_batch(cm, batch)
    assert chunk.l1_tagger == L1_TAGGER_LABELS["l1jets"]
    assert dict(chunk.scores)["l1jets.l1_score"].startswith("baseline stand-in")
    np.testing.assert_array_equal(chunk.raw[:, 0], _tagged(got.l1jets, "l1_score"))
    plain = evaluate_batch(cm, with_l1(offline, 9, tracks=False))
    assert plain.l1_tagger == L1_TAGGER_LABELS["offline jets"]
    with pytest.raises(TrigkitError, match="L1 seeds read l1jets.l1_score"):
        prepare_batch(batch, menu, [CachedScores("l1_score")])
    # from Parquet, read for the menu's fields: the L1 tracks come along, same decisions
    path = tmp_path / "l1.parquet"
    write_parquet([batch], path)
    fields = needed_fields(menu, leaf_fields(path))
    assert fields is not None and "l1jets.tracks.d0_sig" in fields
    (sample,) = run_files(cm, [path])
    direct = assemble_sample(cm, "l1", [chunk])
    assert sample.l1_tagger == direct.l1_tagger == L1_TAGGER_LABELS["l1jets"]
    np.testing.assert_array_equal(sample.decisions.l1_raw, direct.decisions.l1_raw)


def test_fpga_bundle_scores_l1jets_from_l1_tracks(tmp_path) -> None:
    """An FPGA bundle of an L1 tagger fitted on L1 jets scores ``l1jets`` (rows from their L1
    tracks, through the firmware emulation) and the tagger seed cuts on those scores."""
    from tests.models.test_l1_objects import with_l1 as with_l1_tracks
    from trigkit.bundle.manifest import TensorSpec, new_manifest, write_bundle
    from trigkit.emulator.scores import attach_scores
    from trigkit.emulator.taggers import FpgaBundleScores
    from trigkit.events.generator import generate
    from trigkit.firmware.emulate import FirmwareEmulator
    from trigkit.fixedpoint.random_net import edge_inputs, random_network
    from trigkit.models.features import extract
    from trigkit.models.kinds import KINDS
    from trigkit.models.preprocessing import Preprocessing

    batch = with_l1_tracks(generate("hh4b", 150, seed=4))
    fs = extract("l1jets", batch)
    pre = Preprocessing.fit(fs)
    spec = KINDS["l1jets"]
    net = random_network((len(spec.feature_names), 8, len(spec.class_names)), seed=3)
    net = net.with_(input_names=spec.feature_names, output_names=spec.class_names)
    x = edge_inputs(net, 32, seed=1)
    man = new_manifest(
        target="fpga",
        backend="emulation",
        model_name="l1-random",
        precision="fixed",
        inputs=[TensorSpec(name="jets", shape=(-1, net.n_inputs), dtype="float64")],
        outputs=[TensorSpec(name="probs", shape=(-1, net.n_outputs), dtype="float64")],
        target_info={"network": net.to_json(), "preprocessing": pre.to_dict()},
    )
    with write_bundle(tmp_path / "fpga", man) as w:
        w.save_reference({"jets": x}, {"probs": FirmwareEmulator(net).predict(x)})
    src = FpgaBundleScores(tmp_path / "fpga")
    assert src.collection_for(batch) == "l1jets"
    scored = attach_scores(batch, [src])
    assert "l1_score" in scored.l1jets.fields and "l1_score" not in scored.jets.fields
    want = FirmwareEmulator(net).predict(pre.transform(fs)[0])[:, 0].astype(np.float32)
    got = ak.to_numpy(scored.l1jets.l1_score[fs.event_index, fs.object_index])
    np.testing.assert_array_equal(got, want)
    wp = float(np.median(want))
    menu = parse_menu(yaml.safe_dump({**MENU, "l1": {"L1_Tag": {"tagger": {"wp": wp, "n": 1}}}}))
    chunk = evaluate_batch(compile_menu(menu), batch, [src])
    sel = (scored.l1jets.pt >= 20) & (abs(scored.l1jets.eta) <= 2.5)
    hand = ak.to_numpy(ak.sum(sel & (scored.l1jets.l1_score >= np.float32(wp)), axis=1)) >= 1
    np.testing.assert_array_equal(chunk.raw[:, 0], hand)
    assert 0 < hand.sum() < len(hand)
    assert dict(chunk.scores)["l1jets.l1_score"].startswith("bit-exact firmware emulation")
