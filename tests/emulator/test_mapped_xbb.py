"""`trigkit emulate --xbb-bundle --xbb-feature-map`: an Xbb tagger trained elsewhere scores
``fatjets.xbb`` from each large-R jet's constituents (a set input, channels first, with its
mask) and two large-R jet fields (a flat input).

The reference is built one large-R jet at a time in plain Python from
``batch.fatjets.to_list()`` and run through the torch model that was exported.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from tests.emulator.emulate_cli import emulate_one_path
from tests.importers import graph_models as gm
from trigkit.cli.app import main
from trigkit.core.errors import TrigkitError

pytest.importorskip("onnxruntime")
N_CONST, CONST = 20, ("pt", "deta", "dphi", "charge")
JET = ("msd", "tau21")
MAP = f"""\
inputs:
  pf_features: {{features: [{", ".join("constituents." + f for f in CONST)}]}}
  pf_mask: {{mask: true}}
  jet: {{features: [{", ".join(JET)}]}}
score: 0
"""


class XbbLike(nn.Module):
    """Constituents [batch, 4, 20] -> a pointwise MLP, masked mean; with (msd, tau21) -> 2
    classes."""

    def __init__(self) -> None:
        super().__init__()
        self.phi = nn.Sequential(nn.Conv1d(len(CONST), 16, 1), nn.ReLU())
        self.head = nn.Sequential(nn.Linear(16 + len(JET), 16), nn.ReLU(), nn.Linear(16, 2))

    def forward(self, pf_features, pf_mask, jet):  # noqa: ANN001, ANN201
        h = self.phi(pf_features) * pf_mask
        pooled = h.sum(-1) / pf_mask.sum(-1).clamp(min=1)
        return torch.softmax(self.head(torch.cat([pooled, jet / 100.0], -1)), dim=-1)


SHAPES = {"pf_features": (len(CONST), N_CONST), "pf_mask": (1, N_CONST), "jet": (len(JET),)}


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    from trigkit.compile.targets.imported import ImportOptions, compile_imported_gpu
    from trigkit.events.generator import generate
    from trigkit.events.parquet_io import write_parquet

    d = tmp_path_factory.mktemp("xbbmap")
    torch.manual_seed(4)
    model = XbbLike().eval()
    onnx = gm.to_onnx(model, d / "xbb.onnx", SHAPES)
    compile_imported_gpu(onnx, d / "gpu", ImportOptions(), engine="never")
    sig = generate("hh4b", 80, seed=6)
    write_parquet([sig], d / "hh4b.parquet")
    (d / "map.yaml").write_text(MAP)
    return {"dir": d, "model": model, "sig": sig, "map": d / "map.yaml"}


def _by_hand(batch) -> dict[str, np.ndarray]:
    feats, masks, jets = [], [], []
    for ev in batch.fatjets.to_list():
        for fj in ev:
            cons = fj["constituents"][:N_CONST]
            pad = N_CONST - len(cons)
            rows = [[float(c[f]) for f in CONST] for c in cons] + [[0.0] * len(CONST)] * pad
            feats.append(np.asarray(rows).T)
            masks.append([[1.0] * len(cons) + [0.0] * pad])
            jets.append([float(fj[f]) for f in JET])
    f32 = lambda a: np.asarray(a, dtype=np.float32)  # noqa: E731
    return {"pf_features": f32(feats), "pf_mask": f32(masks), "jet": f32(jets)}


def test_xbb_scores_equal_torch_on_the_constituents(setup) -> None:
    from trigkit.emulator.mapped_taggers import MappedGpuScores

    batch = setup["sig"]
    want_feed = _by_hand(batch)
    assert len(want_feed["jet"]) > 20
    mask = want_feed["pf_mask"][:, 0]
    assert (mask[:, -1] == 0).any() and (mask[:, -1] == 1).any()
    src = MappedGpuScores(
        setup["dir"] / "gpu", setup["map"], field="xbb", collection="fatjets", flag="--xbb-bundle"
    )
    feed = src.feed(batch)
    for name, x in want_feed.items():
        np.testing.assert_array_equal(feed[name], x, err_msg=name)
    want = gm.torch_outputs(setup["model"], want_feed)[:, 0]
    got = src.flat_scores(batch)
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert np.std(got) > 1e-4
    assert "pf_mask <- constituent mask" in src.description


XBB_PATH = "H_xbb: {seeds: [L1_HT], fatjet: {pt: 200, msd: 30, xbb: 0.4}}"


def test_emulate_cli_with_an_xbb_bundle(setup, tmp_path: Path) -> None:
    d = setup["dir"]
    bundle = ["--xbb-bundle", str(d / "gpu"), "--xbb-feature-map", str(setup["map"])]
    text = emulate_one_path(tmp_path, XBB_PATH, d / "hh4b.parquet", *bundle)
    assert "pf_features <- constituents.pt" in text and "baseline stand-in" not in text


@pytest.mark.parametrize(
    "text, match",
    [
        (
            MAP.replace("constituents.charge", "tracks.d0_sig"),
            "unknown large-R jet field 'tracks.d0_sig'; valid: pt, eta, phi, mass, msd",
        ),
        (MAP.replace("[msd, tau21]", "[msd]"), r"input 'jet' \[2\]: the feature map gives 1"),
    ],
)
def test_xbb_maps_that_do_not_fit(setup, tmp_path: Path, text: str, match: str) -> None:
    from trigkit.emulator.mapped_taggers import MappedGpuScores

    fm = tmp_path / "m.yaml"
    fm.write_text(text)
    with pytest.raises(TrigkitError, match=match):
        MappedGpuScores(setup["dir"] / "gpu", fm, field="xbb", collection="fatjets")


def test_xbb_feature_map_needs_the_bundle(setup, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    args = ["emulate", "--menu", "run3_hh4b", "--no-plots", "--out", str(tmp_path / "o")]
    args += ["--xbb-feature-map", str(setup["map"]), "--signal", str(setup["dir"] / "hh4b.parquet")]
    assert main(args) == 1
    assert "--xbb-feature-map needs --xbb-bundle" in capsys.readouterr().err


def test_evaluate_an_xbb_model_against_mass_tau21(setup, tmp_path: Path) -> None:
    """`trigkit evaluate --tagger xbb`: the large-R jets of odd events, H->bb against QCD; the
    AUC counted pair by pair from the bundle's own scores."""
    import json

    from trigkit.emulator.bundle_evaluation import jet_scores
    from trigkit.emulator.mapped_taggers import MappedGpuScores
    from trigkit.events.generator import generate
    from trigkit.events.parquet_io import write_parquet
    from trigkit.models.features import extract

    d = setup["dir"]
    qcd = generate("qcd", 300, seed=7)
    write_parquet([qcd], tmp_path / "qcd.parquet")
    out = tmp_path / "ev"
    args = ["evaluate", str(d / "xbb.onnx"), str(d / "hh4b.parquet"), str(tmp_path / "qcd.parquet")]
    args += ["--feature-map", str(setup["map"]), "--tagger", "xbb", "-o", str(out)]
    assert main(args) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["signal"] == "hbb" and [b["name"] for b in metrics["baselines"]] == [
        "mass-tau21"
    ]
    src = MappedGpuScores(out / "xbb_gpu", setup["map"], field="xbb", collection="fatjets")
    x, y = [], []
    for batch in (setup["sig"], qcd):
        fs = extract("constituents", batch)
        odd = fs.event_index % 2 == 1
        x.append(jet_scores(src.flat_scores(batch), batch, fs, "fatjets")[odd])
        y.append(fs.labels[odd] == 0)
    s, sig = np.concatenate(x), np.concatenate(y)
    wins = (s[sig][:, None] > s[~sig][None, :]).sum() + 0.5 * (
        s[sig][:, None] == s[~sig][None, :]
    ).sum()
    assert metrics["n_objects"] == len(s) and sig.any() and (~sig).any()
    assert metrics["model"]["auc"] == pytest.approx(wins / (sig.sum() * (~sig).sum()), abs=1e-9)


def test_trigkit_xbb_bundle_scores_the_large_r_jets(tmp_path: Path) -> None:
    """`--xbb-bundle` of trigkit's own Xbb model (1 epoch): every large-R jet's score equals
    torch's on that jet's features, mapped back event by event in plain Python."""
    from trigkit.compile.targets.gpu import compile_gpu
    from trigkit.emulator.api import EmulateRequest, tagger_sources
    from trigkit.emulator.taggers import GpuBundleScores
    from trigkit.events.generator import generate
    from trigkit.events.parquet_io import write_parquet
    from trigkit.models.training import train

    sig, bkg = generate("hh4b", 150, seed=31), generate("qcd", 150, seed=32)
    model = train("xbb-pfn", [sig, bkg], epochs=1, seed=0, progress=False)
    model.save(tmp_path / "xbb.pt")
    compile_gpu(tmp_path / "xbb.pt", tmp_path / "gpu", max_batch=4096, engine="never")
    (src,) = tagger_sources(EmulateRequest(menu="run3_hh4b", xbb_bundle=tmp_path / "gpu"))
    assert isinstance(src, GpuBundleScores) and src.field == "xbb"
    got = src.flat_scores(sig)
    fs = model.features(sig)
    probs = model.predict(sig)[:, 0]
    want = {(e, j): p for e, j, p in zip(fs.event_index, fs.object_index, probs, strict=True)}
    flat = [
        want.get((e, j), np.nan)
        for e, ev in enumerate(sig.fatjets.to_list())
        for j in range(len(ev))
    ]
    assert len(flat) == len(got) and np.isfinite(got).sum() > 20
    np.testing.assert_allclose(got, np.asarray(flat), atol=2e-5)
    # a bundle without its saved model: the fix named is one that exists (no --xbb-model)
    from tests.emulator.test_taggers import _copy_without_model

    _copy_without_model(tmp_path / "gpu", tmp_path / "gpu_nomodel")
    bare = EmulateRequest(menu="run3_hh4b", xbb_bundle=tmp_path / "gpu_nomodel")
    with pytest.raises(TrigkitError, match="carries no saved model .*compile it from MODEL.pt"):
        tagger_sources(bare)
    write_parquet([sig], tmp_path / "hh4b.parquet")
    bundle = ["--xbb-bundle", str(tmp_path / "gpu")]
    text = emulate_one_path(tmp_path, XBB_PATH, tmp_path / "hh4b.parquet", *bundle)
    assert f"GPU bundle {tmp_path / 'gpu'}" in text
