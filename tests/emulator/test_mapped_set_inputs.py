"""`trigkit emulate --feature-map` on set (DeepSets / Conv1D) taggers trained elsewhere: the jet's
first tracks fill the ``(n_const, n_feat)`` input.

References are built one jet at a time in plain Python from ``batch.jets.to_list()``
(independent of the feature-map code): the original ONNX file in onnxruntime, the original
TorchScript module in torch (channels first), and the firmware network's emulation on rows
flattened by hand.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.emulator.emulate_cli import BTAG_PATH, emulate_one_path
from tests.importers import set_models as sm
from tests.importers import writers
from trigkit.core.errors import TrigkitError

pytest.importorskip("onnxruntime")
FEATS = ("pt", "deta", "dphi", "d0_sig")
OFFSETS, SCALES = (5.0, 0.0, 0.0, 0.0), (10.0, 0.2, 0.2, 5.0)
FILL = -1.0


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    from trigkit.compile.targets.imported import ImportOptions, compile_imported_gpu
    from trigkit.events.generator import generate
    from trigkit.events.parquet_io import write_parquet

    d = tmp_path_factory.mktemp("setmap")
    pre = d / "pre.yaml"
    pre.write_text(
        "features:\n"
        + "".join(
            f"  - {{name: t{i}, offset: {o}, scale: {s}}}\n"
            for i, (o, s) in enumerate(zip(OFFSETS, SCALES, strict=True))
        )
    )
    onnx = writers.to_onnx(sm.DeepSets().eval(), d / "ds.onnx", sm.SHAPE)
    conv = sm.ConvTagger().eval()
    ts = writers.to_torchscript(conv, d / "conv.pt")
    opts = ImportOptions(preprocessing=pre)
    compile_imported_gpu(onnx, d / "ds_gpu", opts, engine="never")
    cf_opts = ImportOptions(input_shapes={"x": sm.SHAPE[::-1]}, preprocessing=pre)
    compile_imported_gpu(ts, d / "conv_gpu", cf_opts, engine="never")
    sig = generate("hh4b", 40, seed=5)
    write_parquet([sig], d / "hh4b.parquet")
    fm = d / "map.yaml"
    fm.write_text(f"features: [{', '.join('tracks.' + f for f in FEATS)}]\nfill: {FILL}\n")
    return {"dir": d, "onnx": onnx, "conv": conv, "pre": pre, "sig": sig, "map": fm}


def _set_rows(batch, n_const: int = sm.N_CONST) -> np.ndarray:
    """[n_jets, n_const, 4]: each jet's first tracks, FILL after its last, then scaled."""
    rows = []
    for ev in batch.jets.to_list():
        for jet in ev:
            tracks = jet["tracks"][:n_const]
            one = [[float(t[f]) for f in FEATS] for t in tracks]
            one += [[FILL] * len(FEATS)] * (n_const - len(tracks))
            rows.append(one)
    x = np.asarray(rows, dtype=np.float64)
    return (x - np.asarray(OFFSETS)) / np.asarray(SCALES)


def test_gpu_set_inputs_equal_the_original_models(setup) -> None:
    import onnxruntime as ort
    import torch

    from trigkit.emulator.mapped_taggers import MappedGpuScores

    batch, d = setup["sig"], setup["dir"]
    x = _set_rows(batch)
    assert (x[:, -1, 0] == (FILL - OFFSETS[0]) / SCALES[0]).any()  # some jets have < 8 tracks
    assert (x[:, -1, 0] != (FILL - OFFSETS[0]) / SCALES[0]).any()  # and some have 8 or more
    sess = ort.InferenceSession(str(setup["onnx"]), providers=["CPUExecutionProvider"])
    ref = sess.run(None, {"x": x.astype(np.float32)})[0][:, 0]
    src = MappedGpuScores(d / "ds_gpu", setup["map"])
    got = src.flat_scores(batch)
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)
    assert np.std(got) > 1e-3 and src.calls == len(x)
    # Conv1d reads [n, n_feat, n_const]: the same track rows, transposed for it
    with torch.no_grad():
        conv_ref = setup["conv"](torch.from_numpy(np.swapaxes(x, 1, 2)).float())[:, 0].numpy()
    conv = MappedGpuScores(d / "conv_gpu", setup["map"])
    assert conv.features(batch).shape == (len(x), 4, sm.N_CONST)
    np.testing.assert_allclose(conv.flat_scores(batch), conv_ref, rtol=1e-5, atol=1e-5)


def _fpga_set_bundle(setup, dest: Path):
    """An FPGA bundle of the DeepSets network (as `compile --target fpga` builds it, without the
    C simulation: the emulation it is bit-exact to is what scores the jets)."""
    from trigkit.bundle.manifest import TensorSpec, new_manifest, write_bundle
    from trigkit.firmware.emulate import FirmwareEmulator
    from trigkit.importers import import_model
    from trigkit.importers.firmware import to_firmware_network
    from trigkit.importers.preprocessing import load_scaling

    model = import_model(setup["onnx"], {})
    calib = np.random.default_rng(0).normal(size=(2000, *sm.SHAPE))
    net = to_firmware_network(model, calib)
    scaling = load_scaling(setup["pre"]).to_dict()
    info = {
        "network": net.to_json(),
        "preprocessing": scaling,
        "imported": {"source": "ds.onnx", "preprocessing": scaling},
    }
    n_in = net.n_inputs
    man = new_manifest(
        target="fpga",
        backend="emulation",
        model_name="ds",
        precision="fixed",
        inputs=[TensorSpec(name="x", shape=(-1, n_in), dtype="float64")],
        outputs=[TensorSpec(name="scores", shape=(-1, 1), dtype="float64")],
        target_info=info,
    )
    x = calib[:64].reshape(64, -1)
    with write_bundle(dest, man) as w:
        w.save_reference({"x": x}, {"scores": FirmwareEmulator(net).predict(x)})
    return net


def test_fpga_set_input_from_tracks_is_bit_exact(setup, tmp_path: Path) -> None:
    from trigkit.emulator.api import EmulateRequest, tagger_sources
    from trigkit.emulator.mapped_taggers import MappedFpgaScores
    from trigkit.firmware.emulate import FirmwareEmulator

    net = _fpga_set_bundle(setup, tmp_path / "fw")
    assert [la.kind for la in net.layers][:3] == ["pointwise", "relu", "mean_pool"]
    batch = setup["sig"]
    x = _set_rows(batch)
    ref = FirmwareEmulator(net).predict(x.reshape(len(x), -1))[:, 0].astype(np.float32)
    req = EmulateRequest(menu="run3_hh4b", l1_bundle=tmp_path / "fw", l1_feature_map=setup["map"])
    (src,) = tagger_sources(req)
    assert isinstance(src, MappedFpgaScores) and "first 8 tracks" in src.description
    got = src.flat_scores(batch)
    np.testing.assert_array_equal(got, ref)
    assert len(np.unique(got)) > 5  # the scores vary: the test can fail


def test_set_inputs_that_cannot_be_fed_fail_in_one_line(setup, tmp_path: Path) -> None:
    from trigkit.emulator.mapped_taggers import MappedFpgaScores, MappedGpuScores

    d = setup["dir"]
    _fpga_set_bundle(setup, tmp_path / "fw")
    jet = tmp_path / "jet.yaml"
    jet.write_text("features: [pt, eta, mass]\n")
    three = tmp_path / "three.yaml"
    three.write_text("features: [tracks.pt, tracks.deta, tracks.dphi]\n")
    mixed = tmp_path / "mixed.yaml"
    mixed.write_text("features: [pt, tracks.deta, tracks.dphi, tracks.d0_sig]\n")
    cases = [
        (jet, r"set input 'x' \(8 constituents x 4 features\) cannot be filled from 3 jet"),
        (three, r"set input 'x' \(8 constituents x 4 features\) but the feature map gives 3"),
        (None, r"set input 'x' \(8 constituents x 4 features\) needs --feature-map FILE"),
        (mixed, r"mix per-track entries \(tracks.<field>, a set input\) with jet fields"),
    ]
    for cls, bundle in ((MappedGpuScores, d / "ds_gpu"), (MappedFpgaScores, tmp_path / "fw")):
        for path, msg in cases:
            with pytest.raises(TrigkitError, match=msg) as err:
                cls(bundle, path)
            assert "\n" not in str(err.value)
    # events without tracks: the map's per-track entries name what is missing
    batch = setup["sig"]
    bare = type(batch)(**{**batch.__dict__, "jets": batch.jets[["pt", "eta", "phi", "mass"]]})
    src = MappedGpuScores(d / "ds_gpu", setup["map"])
    with pytest.raises(TrigkitError, match=r"tracks.pt, .* need the jets' tracks.*no jets.tracks"):
        src.flat_scores(bare)


def test_per_track_map_on_a_flat_model_is_refused(tmp_path: Path) -> None:
    from trigkit.compile.targets.imported import ImportOptions, compile_imported_gpu
    from trigkit.emulator.mapped_taggers import MappedGpuScores

    onnx = writers.to_onnx(writers.mlp((4, 8, 2), seed=4), tmp_path / "m.onnx", (4,))
    compile_imported_gpu(onnx, tmp_path / "gpu", ImportOptions(), engine="never")
    fm = tmp_path / "m.yaml"
    fm.write_text("features: [tracks.pt, tracks.deta, tracks.dphi, tracks.d0_sig]\n")
    with pytest.raises(TrigkitError, match="per-track features .* fill a set input, but the"):
        MappedGpuScores(tmp_path / "gpu", fm)


def test_emulate_cli_with_a_deepsets_bundle(setup, tmp_path: Path) -> None:
    d = setup["dir"]
    bundle = ["--btag-bundle", str(d / "ds_gpu"), "--feature-map", str(setup["map"])]
    text = emulate_one_path(tmp_path, BTAG_PATH, d / "hh4b.parquet", *bundle)
    assert "first 8 tracks" in text and "tracks.d0_sig" in text
