"""Derived per-track / per-constituent features (weaver-core's particle inputs) and the
``center`` / ``scale`` / ``clip`` standardisation of a feature map's inputs, against plain-Python
math on ``to_list()`` of the events."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from tests.emulator.test_mapped_graph_inputs import MAP
from trigkit.core.errors import TrigkitError
from trigkit.emulator.derived_fields import DERIVED
from trigkit.emulator.feature_map import load_feature_map

N = 6


@pytest.fixture(scope="module")
def batch():  # noqa: ANN201
    from trigkit.events.generator import generate

    return generate("hh4b", 30, seed=8)


def _by_hand(parent: dict, kid: dict) -> dict[str, float]:
    eta = parent["eta"] + kid["deta"]
    phi = (parent["phi"] + kid["dphi"] + math.pi) % (2 * math.pi) - math.pi
    energy = kid["pt"] * math.cosh(eta)
    jet_e = math.hypot(parent["pt"] * math.cosh(parent["eta"]), parent["mass"])
    return {
        "eta": eta,
        "phi": phi,
        "dr": math.hypot(kid["deta"], kid["dphi"]),
        "log_pt": math.log(kid["pt"]),
        "log_ptrel": math.log(kid["pt"] / parent["pt"]),
        "energy": energy,
        "log_energy": math.log(energy),
        "log_erel": math.log(energy / jet_e),
        "px": kid["pt"] * math.cos(phi),
        "py": kid["pt"] * math.sin(phi),
        "pz": kid["pt"] * math.sinh(eta),
    }


@pytest.mark.parametrize("collection, child", [("jets", "tracks"), ("fatjets", "constituents")])
def test_derived_fields_equal_plain_math(batch, tmp_path: Path, collection: str, child: str):  # noqa: ANN201
    names = list(DERIVED)
    fm_file = tmp_path / "m.yaml"
    fm_file.write_text(f"features: [{', '.join(f'{child}.{n}' for n in names)}]\nfill: -9\n")
    fm = load_feature_map(fm_file, collection)
    got = fm.set_rows(batch, N)
    want, n_real = [], 0
    for ev in getattr(batch, collection).to_list():
        for obj in ev:
            rows = [list(_by_hand(obj, k).values()) for k in obj[child][:N]]
            n_real += len(rows)
            want.append(rows + [[-9.0] * len(names)] * (N - len(rows)))
    assert n_real > 50
    np.testing.assert_allclose(got, np.asarray(want), rtol=1e-6, atol=1e-5)


def test_standardised_inputs_equal_the_formula(tmp_path: Path) -> None:
    """(x - center) * scale, clipped, on the real tracks; the padding keeps `fill`."""
    from tests.importers import graph_models as gm
    from trigkit.compile.targets.imported import ImportOptions, compile_imported_gpu
    from trigkit.emulator.mapped_taggers import MappedGpuScores
    from trigkit.events.generator import generate

    compile_imported_gpu(
        gm.to_onnx(gm.particlenet(), tmp_path / "pn.onnx"),
        tmp_path / "gpu",
        ImportOptions(),
        engine="never",
    )
    center, scale, clip = [1.0, 0.0, 0.0, 0.5, -0.5], [0.5, 4.0, 4.0, 0.2, 0.2], (-2.0, 2.0)
    text = MAP.replace("[tracks.pt, tracks.deta", "[tracks.log_pt, tracks.deta").replace(
        "tracks.z0_sig]}", f"tracks.z0_sig], center: {center}, scale: {scale}, clip: {list(clip)}}}"
    )
    assert "log_pt" in text
    (tmp_path / "m.yaml").write_text(text)
    b = generate("hh4b", 20, seed=9)
    got = MappedGpuScores(tmp_path / "gpu", tmp_path / "m.yaml").feed(b)["pf_features"]
    want = []
    for ev in b.jets.to_list():
        for jet in ev:
            rows = []
            for t in jet["tracks"][: gm.N_PART]:
                raw = [math.log(t["pt"]), t["deta"], t["dphi"], t["d0_sig"], t["z0_sig"]]
                z = [(x - c) * s for x, c, s in zip(raw, center, scale, strict=True)]
                rows.append([min(max(v, clip[0]), clip[1]) for v in z])
            rows += [[0.0] * 5] * (gm.N_PART - len(rows))
            want.append(np.asarray(rows).T)
    np.testing.assert_allclose(got, np.asarray(want), rtol=1e-6, atol=1e-6)
    assert (np.abs(got) == 2.0).any()  # some values clipped: the clip is exercised


@pytest.mark.parametrize(
    "entry, match",
    [
        ("{features: [tracks.pt, tracks.dr], center: [1.0]}", "center has 1 values for 2"),
        ("{features: [tracks.pt], clip: [3, 1]}", r"min < max, got \[3.0, 1.0\]"),
        ("{mask: true, scale: [2.0]}", "a mask takes no center / scale / clip"),
        ("{features: [tracks.rapidity]}", "unknown jet field 'tracks.rapidity'.*log_ptrel"),
    ],
)
def test_bad_standardisation_is_one_line(tmp_path: Path, entry: str, match: str) -> None:
    (tmp_path / "m.yaml").write_text(f"inputs:\n  x: {entry}\n")
    with pytest.raises(TrigkitError, match=match) as err:
        load_feature_map(tmp_path / "m.yaml")
    assert "\n" not in str(err.value)
