"""`trigkit emulate --btag-bundle / --l1-bundle`: trained taggers instead of the baseline stand-ins.

Tiny models: a 1-epoch b-tagger on a few hundred generated events compiled to a GPU bundle
(onnxruntime, no engine), and an FPGA bundle holding a small random firmware network with the
preprocessing of a 1-epoch L1 model (no hls4ml C simulation needed). References: the torch model
(``TrainedModel.predict``) and ``FirmwareEmulator.predict`` on features built one event at a time.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from trigkit.cli.app import main

pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> dict[str, object]:
    from trigkit.bundle.manifest import TensorSpec, new_manifest, write_bundle
    from trigkit.compile.targets.gpu import compile_gpu
    from trigkit.events.generator import generate
    from trigkit.events.parquet_io import write_parquet
    from trigkit.firmware.emulate import FirmwareEmulator
    from trigkit.fixedpoint.random_net import edge_inputs, random_network
    from trigkit.models.kinds import KINDS
    from trigkit.models.training import train

    d = tmp_path_factory.mktemp("taggers")
    sig, bkg = generate("hh4b", 120, seed=21), generate("qcd", 150, seed=22)
    write_parquet([sig], d / "hh4b.parquet")
    write_parquet([bkg], d / "qcd.parquet")
    btag = train("btag-deepsets", [sig, bkg], epochs=1, seed=0, progress=False)
    btag.save(d / "btag.pt")
    compile_gpu(d / "btag.pt", d / "gpu", precision="fp32", max_batch=4096, engine="never")
    _copy_without_model(d / "gpu", d / "gpu_nomodel")
    l1 = train("l1-mlp", [sig, bkg], epochs=1, seed=0, progress=False)
    l1.save(d / "l1.pt")
    spec = KINDS["l1jets"]
    net = random_network((len(spec.feature_names), 8, len(spec.class_names)), seed=3)
    net = net.with_(input_names=spec.feature_names, output_names=spec.class_names)
    x = edge_inputs(net, 64, seed=1)
    for name, pre in (("fpga", l1.preprocessing.to_dict()), ("fpga_nopre", None)):
        man = new_manifest(
            target="fpga",
            backend="emulation",
            model_name="l1-random",
            precision="fixed",
            inputs=[TensorSpec(name="jets", shape=(-1, net.n_inputs), dtype="float64")],
            outputs=[TensorSpec(name="probs", shape=(-1, net.n_outputs), dtype="float64")],
            target_info={"network": net.to_json(), "preprocessing": pre},
        )
        with write_bundle(d / name, man) as w:
            w.save_reference({"jets": x}, {"probs": FirmwareEmulator(net).predict(x)})
    return {"dir": d, "sig": sig, "bkg": bkg, "btag": btag, "l1": l1, "net": net}


def _per_event_reference(batch, score_fn) -> np.ndarray:
    """One score per jet, computing each event's features on its own (independent row mapping)."""
    out = []
    for i in range(len(batch)):
        one = batch[i : i + 1]
        n = len(one.jets[0])
        if n == 0:
            continue
        fs = None
        try:
            fs = score_fn(one)
        except Exception:  # noqa: BLE001 - an event whose jets all lack inputs
            fs = (np.zeros(0, np.int64), np.zeros(0))
        s = np.full(n, np.nan)
        s[fs[0]] = fs[1]
        out.append(s)
    return np.concatenate(out)


def _copy_without_model(src: Path, dest: Path) -> None:
    """A GPU bundle without the saved model it normally carries (features must come from
    --btag-model)."""
    import shutil

    from trigkit.bundle.manifest import MANIFEST

    shutil.copytree(src, dest)
    (dest / "model.pt").unlink()
    man = json.loads((dest / MANIFEST).read_text())
    man["files"].pop("model.pt")
    man["target_info"]["torch_model"] = None
    (dest / MANIFEST).write_text(json.dumps(man))


N_REF = 30  # events scored one at a time for the references


@pytest.fixture(scope="module")
def references(setup) -> dict[str, np.ndarray]:
    """Per-jet reference scores of the first N_REF signal events: torch b-tag, firmware L1."""
    from trigkit.firmware.emulate import FirmwareEmulator

    batch, btag, l1, emu = (
        setup["sig"][:N_REF],
        setup["btag"],
        setup["l1"],
        FirmwareEmulator(setup["net"]),
    )
    return {
        "btag": _per_event_reference(
            batch, lambda b: (btag.features(b).object_index, btag.predict(b)[:, 0])
        ),
        "l1_score": _per_event_reference(
            batch, lambda b: (l1.features(b).object_index, emu.predict(l1.model_inputs(b)[0])[:, 0])
        ),
    }


def test_bundle_scores_match_torch_and_firmware(setup, references) -> None:
    from trigkit.emulator.taggers import FpgaBundleScores, GpuBundleScores

    d, batch = setup["dir"], setup["sig"][:N_REF]
    gpu = GpuBundleScores(d / "gpu")
    got = gpu.flat_scores(batch)
    ref = references["btag"]
    assert got.shape == ref.shape and np.isfinite(got).sum() > 50
    np.testing.assert_allclose(got, ref, atol=2e-5)
    assert gpu.calls == int(np.isfinite(got).sum())
    got = FpgaBundleScores(d / "fpga").flat_scores(batch)
    np.testing.assert_array_equal(got, references["l1_score"].astype(np.float32))
    assert len(np.unique(got[np.isfinite(got)])) > 3  # the scores vary: the test can fail


class _Fixed:
    """A score source returning given per-jet scores."""

    collection = "jets"

    def __init__(self, field: str, scores: np.ndarray) -> None:
        self.field, self.scores = field, scores.astype(np.float32)

    def flat_scores(self, batch) -> np.ndarray:
        return self.scores


MENU = """\
name: tagged
l1:
  L1_Tag: {jets: {pt: [30]}, tagger: {wp: 0.2, n: 1, jet_pt: 20}}
  L1_HT: {ht: {min: 250}}
hlt:
  H_mean: {seeds: [L1_Tag, L1_HT], jets: {pt: [30, 30]}, btag_mean: {min: 0.3}}
  H_tag2: {seeds: [L1_Tag], btag_count: {wp: 0.35, n: 2, jet_pt: 20}}
"""


def test_emulate_cli_uses_bundles_and_l1_latency(setup, references, tmp_path) -> None:
    from trigkit.bundle.manifest import load_bundle
    from trigkit.emulator.columns import columns_from_batch
    from trigkit.emulator.compiled import compile_menu
    from trigkit.emulator.engine.reference import run_reference
    from trigkit.emulator.pipeline import evaluate_batch
    from trigkit.emulator.schema import parse_menu
    from trigkit.emulator.scores import attach_scores
    from trigkit.emulator.taggers import FpgaBundleScores, GpuBundleScores
    from trigkit.firmware.estimate import estimate_network
    from trigkit.firmware.fpga_report import load_network

    d = setup["dir"]
    (tmp_path / "menu.yaml").write_text(MENU)
    rc = main(
        [
            "emulate",
            "--menu",
            str(tmp_path / "menu.yaml"),
            "--out",
            str(tmp_path / "res"),
            "--no-plots",
            "--btag-bundle",
            str(d / "gpu"),
            "--l1-bundle",
            str(d / "fpga"),
            "--signal",
            str(d / "hh4b.parquet"),
            "--background",
            str(d / "qcd.parquet"),
        ]
    )
    assert rc == 0
    res = json.loads(next((tmp_path / "res").glob("*.json")).read_text())
    est = estimate_network(load_network(load_bundle(d / "fpga")))
    assert res["budget"]["l1"]["latency_cycles"] == est.latency_cycles > 0
    assert res["budget"]["l1"]["clock_mhz"] == pytest.approx(1e3 / setup["net"].clock_period_ns)
    # decisions with the bundles == the per-path reference on torch / firmware-emulator scores
    cm = compile_menu(parse_menu(MENU))
    batch = setup["sig"][:N_REF]
    raw = evaluate_batch(cm, batch, [FpgaBundleScores(d / "fpga"), GpuBundleScores(d / "gpu")]).raw
    ref_batch = attach_scores(
        batch, [_Fixed("btag", references["btag"]), _Fixed("l1_score", references["l1_score"])]
    )
    ref = run_reference(cm, columns_from_batch(ref_batch, cm))
    np.testing.assert_array_equal(raw, ref)
    frac = raw.mean(axis=0)
    assert np.all(frac > 0) and np.all(frac < 1), frac  # every trigger both fires and fails


def test_emulate_cli_bad_bundles_one_line(setup, tmp_path, capsys) -> None:
    d = setup["dir"]
    common = ["emulate", "--menu", "run3_hh4b", "--no-plots", "--signal", str(d / "hh4b.parquet")]
    cases = [
        (["--btag-bundle", str(tmp_path)], "not a trigkit bundle"),
        (["--btag-bundle", str(d / "fpga")], "expected a 'gpu' bundle"),
        (["--l1-bundle", str(d / "fpga_nopre")], "pass --l1-model"),
        (
            ["--l1-bundle", str(d / "fpga"), "--l1-model", str(d / "hh4b.parquet")],
            "not a trigkit model file",
        ),
        (["--btag-model", str(d / "btag.pt")], "--btag-model needs --btag-bundle"),
        (["--btag-bundle", str(d / "gpu_nomodel")], "pass --btag-model"),
        (
            ["--btag-bundle", str(d / "gpu"), "--btag-model", str(d / "l1.pt")],
            "do not match the model's",
        ),
    ]
    for i, (extra, msg) in enumerate(cases):
        out = tmp_path / f"out{i}"
        assert main([*common, "--out", str(out), *extra]) == 1
        err = capsys.readouterr().err.strip()
        assert msg in err and "\n" not in err, err
        assert not out.exists()


def test_models_supply_missing_preprocessing(setup, tmp_path) -> None:
    from trigkit.emulator.taggers import FpgaBundleScores, GpuBundleScores

    d, batch = setup["dir"], setup["sig"][:N_REF]
    np.testing.assert_array_equal(
        GpuBundleScores(d / "gpu_nomodel", d / "btag.pt").flat_scores(batch),
        GpuBundleScores(d / "gpu").flat_scores(batch),
    )
    np.testing.assert_array_equal(
        FpgaBundleScores(d / "fpga_nopre", d / "l1.pt").flat_scores(batch),
        FpgaBundleScores(d / "fpga").flat_scores(batch),
    )
    rc = main(
        [
            "emulate",
            "--menu",
            "atlas_2b2j",
            "--out",
            str(tmp_path / "r"),
            "--no-plots",
            "--l1-bundle",
            str(d / "fpga_nopre"),
            "--l1-model",
            str(d / "l1.pt"),
            "--btag-bundle",
            str(d / "gpu_nomodel"),
            "--btag-model",
            str(d / "btag.pt"),
            "--signal",
            str(d / "hh4b.parquet"),
        ]
    )
    assert rc == 0
