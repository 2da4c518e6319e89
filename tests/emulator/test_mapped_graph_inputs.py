"""`trigkit emulate --feature-map` on a tagger with several inputs: weaver-core's ParticleNet
layout (points, features, mask; channels first), compiled for the gpu as its whole graph.

The reference is built one jet at a time in plain Python from ``batch.jets.to_list()`` (its
first 16 tracks, zeros after the last, the mask by hand) and run through the torch model that
was exported, independent of the feature-map code and of onnxruntime.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.emulator.emulate_cli import BTAG_PATH, emulate_one_path
from tests.importers import graph_models as gm
from trigkit.core.errors import TrigkitError

pytest.importorskip("onnxruntime")
POINTS = ("deta", "dphi")
FEATS = ("pt", "deta", "dphi", "d0_sig", "z0_sig")
MAP = f"""\
inputs:
  pf_points: {{features: [{", ".join("tracks." + f for f in POINTS)}]}}
  pf_features: {{features: [{", ".join("tracks." + f for f in FEATS)}]}}
  pf_mask: {{mask: true}}
score: 1
"""


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    from trigkit.compile.targets.imported import ImportOptions, compile_imported_gpu
    from trigkit.events.generator import generate
    from trigkit.events.parquet_io import write_parquet

    d = tmp_path_factory.mktemp("graphmap")
    model = gm.particlenet()
    compile_imported_gpu(
        gm.to_onnx(model, d / "pn.onnx"), d / "gpu", ImportOptions(), engine="never"
    )
    sig = generate("hh4b", 40, seed=5)
    write_parquet([sig], d / "hh4b.parquet")
    fm = d / "map.yaml"
    fm.write_text(MAP)
    return {"dir": d, "model": model, "sig": sig, "map": fm}


def _by_hand(batch) -> dict[str, np.ndarray]:
    points, feats, masks = [], [], []
    for ev in batch.jets.to_list():
        for jet in ev:
            tracks = jet["tracks"][: gm.N_PART]
            pad = gm.N_PART - len(tracks)
            rows = [[float(t[f]) for f in FEATS] for t in tracks] + [[0.0] * len(FEATS)] * pad
            x = np.asarray(rows).T  # channels first: [features, particles]
            feats.append(x)
            points.append(x[[FEATS.index(f) for f in POINTS]])
            masks.append([[1.0] * len(tracks) + [0.0] * pad])
    as32 = lambda a: np.asarray(a, dtype=np.float32)  # noqa: E731
    return {"pf_points": as32(points), "pf_features": as32(feats), "pf_mask": as32(masks)}


def _tied(feed: dict[str, np.ndarray]) -> np.ndarray:
    """Jets with two real tracks at the same (deta, dphi): their nearest neighbours are a tie,
    which torch's topk and onnxruntime's TopK may break differently."""
    out = []
    for p, m in zip(feed["pf_points"], feed["pf_mask"][:, 0].astype(bool), strict=True):
        q = p[:, m].T
        d = ((q[:, None, :] - q[None, :, :]) ** 2).sum(-1) + np.eye(len(q))
        out.append(bool((d == 0).any()))
    return np.asarray(out)


def test_particlenet_scores_equal_torch_on_the_jets_tracks(setup) -> None:
    from trigkit.emulator.mapped_taggers import MappedGpuScores

    batch = setup["sig"]
    feed = _by_hand(batch)
    mask = feed["pf_mask"][:, 0]
    assert (mask[:, -1] == 0).any() and (mask[:, -1] == 1).any()  # padded jets and full ones
    src = MappedGpuScores(setup["dir"] / "gpu", setup["map"])
    got_feed = src.feed(batch)
    assert list(got_feed) == list(feed)
    for name, x in feed.items():
        np.testing.assert_array_equal(got_feed[name], x, err_msg=name)
    want = gm.torch_outputs(setup["model"], feed)[:, 1]  # score: 1
    got = src.flat_scores(batch)
    tied = _tied(feed)
    assert tied.mean() < 0.05  # the toy generator duplicates a few tracks
    np.testing.assert_allclose(got[~tied], want[~tied], atol=1e-5)
    assert np.std(got) > 1e-4 and src.calls == len(want)
    assert "pf_mask <- track mask" in src.description
    assert "pf_points <- tracks.deta, tracks.dphi" in src.description


def test_emulate_cli_with_a_particlenet_bundle(setup, tmp_path: Path) -> None:
    d = setup["dir"]
    bundle = ["--btag-bundle", str(d / "gpu"), "--feature-map", str(setup["map"])]
    text = emulate_one_path(tmp_path, BTAG_PATH, d / "hh4b.parquet", *bundle)
    assert "pf_features <- tracks.pt" in text


@pytest.mark.parametrize(
    "text, match",
    [
        ("features: [tracks.pt, tracks.deta]\n", "takes 3 inputs .*give inputs:"),
        (MAP.replace("  pf_mask: {mask: true}\n", ""), "missing: pf_mask"),
        (MAP.replace("score: 1", "  pf_jets: {mask: true}\nscore: 1"), "unknown: pf_jets"),
        (
            MAP.replace("tracks.deta, tracks.dphi]", "tracks.deta]"),
            r"input 'pf_points' \[2, 16\]: 1 per-track features",
        ),
        (
            MAP.replace("{features: [tracks.deta, tracks.dphi]}", "{features: [pt, eta]}"),
            "input 'pf_points' .*2 jet features",
        ),
        (
            MAP.replace("{mask: true}", "{mask: true, features: [tracks.pt]}"),
            "either features: .* or mask: true",
        ),
        (
            MAP.replace("pf_points: {", "pf_points: {layout: channels_last, "),
            "layout channels_last puts 2 features on the wrong axis",
        ),
    ],
)
def test_maps_that_do_not_fit_fail_in_one_line(
    setup, tmp_path: Path, text: str, match: str
) -> None:
    from trigkit.emulator.mapped_taggers import MappedGpuScores

    fm = tmp_path / "m.yaml"
    fm.write_text(text)
    with pytest.raises(TrigkitError, match=match) as err:
        MappedGpuScores(setup["dir"] / "gpu", fm)
    assert "\n" not in str(err.value)


def test_no_map_names_the_inputs(setup) -> None:
    from trigkit.emulator.mapped_taggers import MappedGpuScores

    with pytest.raises(TrigkitError, match="inputs pf_points, pf_features, pf_mask needs"):
        MappedGpuScores(setup["dir"] / "gpu", None)
