"""`trigkit emulate --btag-bundle B --feature-map F`: a tagger trained elsewhere scores the jets.

A torch MLP on (pt, eta, mass) exported to ONNX and compiled for gpu (onnxruntime, no engine)
with stored preprocessing. Reference: onnxruntime on the *original* .onnx file, fed features
built one jet at a time in plain Python from the events (independent of the feature-map code).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.importers import writers
from trigkit.cli.app import main
from trigkit.core.errors import TrigkitError

pytest.importorskip("onnxruntime")
OFFSETS, SCALES = (50.0, 0.0, 10.0), (40.0, 2.0, 8.0)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    from trigkit.compile.targets.imported import ImportOptions, compile_imported_gpu
    from trigkit.events.generator import generate
    from trigkit.events.parquet_io import write_parquet

    d = tmp_path_factory.mktemp("fmap")
    onnx = writers.to_onnx(writers.mlp((3, 8, 2), seed=4), d / "tag.onnx", (3,))
    pre = d / "pre.yaml"
    pre.write_text(
        "features:\n"
        + "".join(
            f"  - {{name: f{i}, offset: {o}, scale: {s}}}\n"
            for i, (o, s) in enumerate(zip(OFFSETS, SCALES, strict=True))
        )
    )
    compile_imported_gpu(onnx, d / "gpu", ImportOptions(preprocessing=pre), engine="never")
    sig, bkg = generate("hh4b", 40, seed=5), generate("qcd", 60, seed=6)
    write_parquet([sig], d / "hh4b.parquet")
    write_parquet([bkg], d / "qcd.parquet")
    fm = d / "map.yaml"
    fm.write_text("features: [pt, eta, mass]\nscore: 1\n")
    return {"dir": d, "onnx": onnx, "sig": sig, "map": fm}


def _reference(onnx: Path, batch) -> np.ndarray:
    """Column 1 of onnxruntime on the original file, one (pt, eta, mass) row per jet."""
    import onnxruntime as ort

    cols = list(zip(("pt", "eta", "mass"), OFFSETS, SCALES, strict=True))
    rows = [[(float(j[k]) - o) / s for k, o, s in cols] for ev in batch.jets.to_list() for j in ev]
    sess = ort.InferenceSession(str(onnx), providers=["CPUExecutionProvider"])
    return sess.run(None, {"x": np.asarray(rows, np.float32)})[0][:, 1]


def test_mapped_scores_equal_onnxruntime_on_the_original(setup) -> None:
    from trigkit.emulator.mapped_taggers import MappedGpuScores

    src = MappedGpuScores(setup["dir"] / "gpu", setup["map"])
    got = src.flat_scores(setup["sig"])
    ref = _reference(setup["onnx"], setup["sig"])
    assert got.shape == ref.shape and len(ref) > 100
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)
    assert src.calls == len(ref) and np.std(got) > 1e-3  # scores vary: the test can fail


def test_track_field_with_index_and_fill(setup, tmp_path: Path) -> None:
    from trigkit.emulator.feature_map import load_feature_map

    p = tmp_path / "m.json"
    p.write_text(json.dumps({"features": ["jet_pt", "tracks.d0_sig[2]"], "fill": -9}))
    rows = load_feature_map(p).rows(setup["sig"])
    ref = [
        [j["pt"], j["tracks"][2]["d0_sig"] if len(j["tracks"]) > 2 else -9.0]
        for ev in setup["sig"].jets.to_list()
        for j in ev
    ]
    np.testing.assert_allclose(rows, np.asarray(ref), rtol=1e-6)
    assert (rows[:, 1] == -9).any() and (rows[:, 1] != -9).any()


class _Fixed:
    collection = "jets"

    def __init__(self, field: str, scores: np.ndarray) -> None:
        self.field, self.scores = field, scores.astype(np.float32)

    def flat_scores(self, batch) -> np.ndarray:
        return self.scores


MENU = (
    "name: t\nl1:\n  L1_HT: {ht: {min: 100}}\n"
    "hlt:\n  H_tag: {seeds: [L1_HT], btag_count: {wp: 0.5, n: 1, jet_pt: 20}}\n"
)


def test_emulate_cli_with_feature_map(setup, tmp_path: Path) -> None:
    from trigkit.emulator.columns import columns_from_batch
    from trigkit.emulator.compiled import compile_menu
    from trigkit.emulator.engine.reference import run_reference
    from trigkit.emulator.mapped_taggers import MappedGpuScores
    from trigkit.emulator.pipeline import evaluate_batch
    from trigkit.emulator.schema import parse_menu
    from trigkit.emulator.scores import attach_scores

    d, out = setup["dir"], tmp_path / "res"
    (tmp_path / "menu.yaml").write_text(MENU)
    args = ["emulate", "--menu", str(tmp_path / "menu.yaml"), "--no-plots", "--out", str(out)]
    args += ["--btag-bundle", str(d / "gpu"), "--feature-map", str(setup["map"])]
    assert main([*args, "--signal", str(d / "hh4b.parquet")]) == 0
    assert "on jet fields pt, eta, mass" in next(out.glob("*.json")).read_text()
    cm, batch = compile_menu(parse_menu(MENU)), setup["sig"]
    raw = evaluate_batch(cm, batch, [MappedGpuScores(d / "gpu", setup["map"])]).raw
    ref_batch = attach_scores(batch, [_Fixed("btag", _reference(setup["onnx"], batch))])
    np.testing.assert_array_equal(raw, run_reference(cm, columns_from_batch(ref_batch, cm)))
    assert 0 < raw[:, -1].mean() < 1, raw.mean(axis=0)  # the tag path both fires and fails


def test_bad_feature_maps_one_line(setup, tmp_path: Path, capsys) -> None:
    d = setup["dir"]
    cases = [
        ("features: [pt, eta, btagness]\n", "unknown jet field 'btagness'; valid: pt, eta"),
        ("features: [pt, eta]\n", "gives 2 features (pt, eta) but the model takes 3"),
        ("features: [pt, eta, mass]\nscore: 5\n", "score column 5 but the model has 2"),
        ("features: [pt, eta, 'tracks.nope[0]']\n", "unknown jet field 'tracks.nope[0]'"),
    ]
    for i, (text, msg) in enumerate(cases):
        (tmp_path / f"m{i}.yaml").write_text(text)
        out = tmp_path / f"out{i}"
        rc = main(
            ["emulate", "--menu", "run3_hh4b", "--no-plots", "--out", str(out)]
            + ["--btag-bundle", str(d / "gpu"), "--feature-map", str(tmp_path / f"m{i}.yaml")]
            + ["--signal", str(d / "hh4b.parquet")]
        )
        err = capsys.readouterr().err.strip()
        assert rc == 1 and msg in err and "\n" not in err, err
        assert not out.exists()
    # the compiled bundle's feature names (f0, f1, f2) are not jet fields: a map is needed
    with pytest.raises(TrigkitError, match="needs --feature-map FILE"):
        from trigkit.emulator.mapped_taggers import MappedGpuScores

        MappedGpuScores(d / "gpu")


def _fpga_bundle(dest: Path, imported: bool) -> object:
    """An FPGA bundle of a small random firmware network on 3 features."""
    from trigkit.bundle.manifest import TensorSpec, new_manifest, write_bundle
    from trigkit.firmware.emulate import FirmwareEmulator
    from trigkit.fixedpoint.random_net import edge_inputs, random_network

    net = random_network((3, 8, 2), seed=7)
    x = edge_inputs(net, 32, seed=1)
    scaling = {
        "features": [
            {"name": n, "offset": o, "scale": s}
            for n, o, s in zip(("pt", "eta", "mass"), OFFSETS, SCALES, strict=True)
        ]
    }
    info = {"network": net.to_json(), "preprocessing": scaling}
    if imported:
        info["imported"] = {"source": "test", "preprocessing": scaling}
    else:
        info["preprocessing"] = {"kind": "l1jets", "feature_names": ["pt", "eta", "mass"]}
    man = new_manifest(
        target="fpga",
        backend="emulation",
        model_name="rand",
        precision="fixed",
        inputs=[TensorSpec(name="x", shape=(-1, 3), dtype="float64", features=("a", "b", "c"))],
        outputs=[TensorSpec(name="y", shape=(-1, 2), dtype="float64")],
        target_info=info,
    )
    with write_bundle(dest, man) as w:
        w.save_reference({"x": x}, {"y": FirmwareEmulator(net).predict(x)})
    return net


def test_fpga_bundle_with_feature_map_is_bit_exact(setup, tmp_path: Path) -> None:
    from trigkit.emulator.api import EmulateRequest, tagger_sources
    from trigkit.emulator.mapped_taggers import MappedFpgaScores
    from trigkit.firmware.emulate import FirmwareEmulator

    net = _fpga_bundle(tmp_path / "fpga", imported=True)
    batch = setup["sig"]
    rows = np.asarray(
        [
            [(float(j[k]) - o) / s for k, o, s in zip(("pt", "eta", "mass"), OFFSETS, SCALES)]  # noqa: B905
            for ev in batch.jets.to_list()
            for j in ev
        ]
    )
    y = FirmwareEmulator(net).predict(rows)
    if net.layers[-1].kind not in ("softmax", "sigmoid"):  # float64 softmax of exact outputs
        z = np.exp(y - y.max(axis=1, keepdims=True))
        y = z / z.sum(axis=1, keepdims=True)
    ref = y[:, 1].astype(np.float32)
    req = EmulateRequest(menu="run3_hh4b", l1_bundle=tmp_path / "fpga", l1_feature_map=setup["map"])
    (src,) = tagger_sources(req)
    assert isinstance(src, MappedFpgaScores)
    got = src.flat_scores(batch)
    np.testing.assert_array_equal(got, ref)
    assert len(np.unique(got)) > 3  # the scores vary: the test can fail


def test_trigkit_bundle_refuses_a_feature_map(setup, tmp_path: Path) -> None:
    from trigkit.emulator.mapped_taggers import MappedFpgaScores

    _fpga_bundle(tmp_path / "native", imported=False)
    with pytest.raises(TrigkitError, match="trigkit-trained bundle.*drop the feature map"):
        MappedFpgaScores(tmp_path / "native", setup["map"])
