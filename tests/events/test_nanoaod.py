"""NanoAOD reader against the real CMS samples, read independently with uproot."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot

from tests.events._bad_inputs import BAD_INPUTS
from trigkit.core.errors import TrigkitError
from trigkit.events.batch import EventBatch
from trigkit.events.nanoaod import iter_nanoaod, read_nanoaod


@pytest.fixture(scope="module")
def tt(nano_tt: Path) -> EventBatch:
    return read_nanoaod(nano_tt)


@pytest.fixture(scope="module")
def tt_raw(nano_tt: Path) -> ak.Array:
    with uproot.open(nano_tt) as f:
        return f["Events"].arrays(
            filter_name=["Jet_*", "FatJet_*", "HLT_*", "genWeight", "nJet", "nFatJet"]
        )


def _sorted_by_pt(values: ak.Array, pt: ak.Array) -> np.ndarray:
    return ak.to_numpy(ak.flatten(values[ak.argsort(pt, axis=1, ascending=False, stable=True)]))


def test_tt_jets_match_uproot(tt: EventBatch, tt_raw: ak.Array) -> None:
    assert len(tt) == 200 and tt.process == "nanoaod"
    np.testing.assert_array_equal(ak.to_numpy(ak.num(tt.jets, axis=1)), ak.to_numpy(tt_raw.nJet))
    pt = tt_raw.Jet_pt
    for ours, theirs in [
        ("pt", "Jet_pt"),
        ("eta", "Jet_eta"),
        ("phi", "Jet_phi"),
        ("mass", "Jet_mass"),
        ("btag", "Jet_btagPNetB"),
        ("btag_pnet", "Jet_btagPNetB"),
        ("btag_deepflav", "Jet_btagDeepFlavB"),
        ("hadron_flavour", "Jet_hadronFlavour"),
    ]:
        np.testing.assert_array_equal(
            ak.to_numpy(ak.flatten(tt.jets[ours])), _sorted_by_pt(tt_raw[theirs], pt)
        )
    np.testing.assert_array_equal(
        ak.to_numpy(ak.flatten(tt.jets.parton_flavour)),
        np.abs(_sorted_by_pt(tt_raw.Jet_partonFlavour, pt)),
    )
    assert ak.all(tt.jets.pt[:, :-1] >= tt.jets.pt[:, 1:])
    assert int(ak.sum(ak.num(tt.jets.tracks, axis=2))) == 0
    assert not ak.any(tt.jets.is_pileup)
    assert set(np.unique(ak.to_numpy(ak.flatten(tt.jets.hadron_flavour)))) <= {0, 4, 5}


def test_tt_fatjets_match_uproot(tt: EventBatch, tt_raw: ak.Array) -> None:
    assert tt.fatjets is not None
    np.testing.assert_array_equal(
        ak.to_numpy(ak.num(tt.fatjets, axis=1)), ak.to_numpy(tt_raw.nFatJet)
    )
    pt = tt_raw.FatJet_pt
    tau1 = _sorted_by_pt(tt_raw.FatJet_tau1, pt).astype(np.float64)
    tau2 = _sorted_by_pt(tt_raw.FatJet_tau2, pt).astype(np.float64)
    expected = np.ones_like(tau1)
    np.divide(tau2, tau1, out=expected, where=tau1 > 0)
    np.testing.assert_allclose(ak.to_numpy(ak.flatten(tt.fatjets.tau21)), expected, rtol=1e-6)
    np.testing.assert_array_equal(
        ak.to_numpy(ak.flatten(tt.fatjets.msd)), _sorted_by_pt(tt_raw.FatJet_msoftdrop, pt)
    )
    np.testing.assert_array_equal(
        ak.to_numpy(ak.flatten(tt.fatjets.xbb)),
        _sorted_by_pt(tt_raw.FatJet_particleNet_XbbVsQCD, pt),
    )
    assert ak.all(tt.fatjets.label == -1)


def test_tt_triggers_weights_truth(tt: EventBatch, tt_raw: ak.Array) -> None:
    hlt = [k for k in tt_raw.fields if k.startswith("HLT_")]
    assert sorted(tt.triggers) == sorted(hlt) and len(hlt) == 4
    for name in hlt:
        np.testing.assert_array_equal(tt.triggers[name], ak.to_numpy(tt_raw[name]))
    gw = ak.to_numpy(tt_raw.genWeight).astype(np.float64)
    np.testing.assert_allclose(tt.weight, gw / np.abs(gw).mean(), rtol=1e-12)
    assert np.isnan(ak.to_numpy(tt.truth.mhh)).all()  # ttbar: no Higgs bosons
    assert tt.trigobj is None


def test_xsec_normalisation(nano_tt: Path) -> None:
    batch = read_nanoaod(nano_tt, xsec_pb=833.9, lumi_pb=2.0)
    assert batch.sum_weights == pytest.approx(833.9 * 2.0, rel=1e-12)
    assert batch.lumi_pb == 2.0


def test_chunks_equal_whole(nano_tt: Path, tt: EventBatch) -> None:
    chunks = list(iter_nanoaod(nano_tt, step_size=64))
    assert [len(c) for c in chunks] == [64, 64, 64, 8]
    joined = EventBatch.concatenate(chunks)
    assert ak.to_list(joined.jets.pt) == ak.to_list(tt.jets.pt)
    np.testing.assert_array_equal(joined.weight, tt.weight)


def test_dimuon_data(nano_dimuon: Path) -> None:
    batch = read_nanoaod(nano_dimuon)
    with uproot.open(nano_dimuon) as f:
        raw = f["Events"].arrays(
            filter_name=["TrigObj_*", "nTrigObj", "Jet_btagDeepFlavB", "Jet_pt"]
        )
        names = [k for k in f["Events"].keys() if k.startswith(("HLT_", "L1_"))]
        some = f["Events"]["L1_SingleMu22"].array(library="np")
    assert len(batch) == 40
    assert len(batch.triggers) == len(names) == 664 + 524
    np.testing.assert_array_equal(batch.triggers["L1_SingleMu22"], some)
    assert ak.all(batch.jets.hadron_flavour == -1) and ak.all(batch.jets.parton_flavour == -1)
    np.testing.assert_array_equal(
        ak.to_numpy(ak.flatten(batch.jets.btag)), _sorted_by_pt(raw.Jet_btagDeepFlavB, raw.Jet_pt)
    )
    assert np.isnan(ak.to_numpy(ak.flatten(batch.jets.btag_pnet))).all()
    np.testing.assert_array_equal(batch.weight, np.ones(40))
    assert batch.trigobj is not None
    np.testing.assert_array_equal(
        ak.to_numpy(ak.num(batch.trigobj, axis=1)), ak.to_numpy(raw.nTrigObj)
    )
    assert ak.to_list(batch.trigobj.filterBits) == ak.to_list(raw.TrigObj_filterBits)
    assert ak.to_list(batch.trigobj.id) == ak.to_list(raw.TrigObj_id)


def _mhh_reference(h: list[tuple[float, float, float, float]]) -> float:
    """Invariant mass from m^2 = m1^2 + m2^2 + 2 (E1 E2 - p1.p2),
    p1.p2 = pt1 pt2 (cos dphi + sinh eta1 sinh eta2)."""
    (pt1, eta1, phi1, m1), (pt2, eta2, phi2, m2) = h
    e1 = np.sqrt(m1**2 + (pt1 * np.cosh(eta1)) ** 2)
    e2 = np.sqrt(m2**2 + (pt2 * np.cosh(eta2)) ** 2)
    dot = pt1 * pt2 * (np.cos(phi1 - phi2) + np.sinh(eta1) * np.sinh(eta2))
    return float(np.sqrt(m1**2 + m2**2 + 2 * (e1 * e2 - dot)))


def test_higgs_truth_from_genpart(tmp_path: Path) -> None:
    last = 1 << 13
    h1, h2 = (310.0, 0.4, 0.3, 125.0), (180.0, -1.1, 2.9, 125.0)
    genpart = {  # event 0: HH (plus an earlier, not-last copy of a Higgs); 1: one Higgs; 2: none
        "pt": [[h1[0], 500.0, h2[0], 40.0], [200.0], []],
        "eta": [[h1[1], 0.1, h2[1], 2.0], [0.5], []],
        "phi": [[h1[2], 0.0, h2[2], 1.0], [0.1], []],
        "mass": [[125.0, 125.0, 125.0, 4.8], [125.0], []],
        "pdgId": [[25, 25, 25, 5], [25], []],
        "statusFlags": [[last, 0, last, last], [last], []],
    }
    jets = {k: [[50.0], [], [30.0, 20.0]] for k in ("pt", "eta", "phi", "mass")}
    path = tmp_path / "hh.root"
    types = {
        f"GenPart_{k}": "var * int32" if k in ("pdgId", "statusFlags") else "var * float32"
        for k in genpart
    }
    types |= {f"Jet_{k}": "var * float32" for k in jets}
    data = {f"GenPart_{k}": ak.Array(v) for k, v in genpart.items()} | {
        f"Jet_{k}": ak.Array(v) for k, v in jets.items()
    }
    with uproot.recreate(path) as f:
        f.mktree("Events", types)
        f["Events"].extend(
            {
                k: ak.values_astype(v, np.int32 if "int" in types[k] else np.float32)
                for k, v in data.items()
            }
        )
    batch = read_nanoaod(path)
    mhh = ak.to_numpy(batch.truth.mhh)
    f32 = [tuple(float(np.float32(x)) for x in h) for h in (h1, h2)]
    assert mhh[0] == pytest.approx(_mhh_reference(f32), rel=1e-9)
    assert np.isnan(mhh[1]) and np.isnan(mhh[2])
    assert float(batch.truth.h1_pt[0]) == pytest.approx(310.0) and float(
        batch.truth.h2_pt[0]
    ) == pytest.approx(180.0)
    assert batch.fatjets is None and batch.triggers == {}
    np.testing.assert_array_equal(batch.weight, np.ones(3))
    assert (
        ak.all(batch.jets.hadron_flavour == -1)
        and np.isnan(ak.to_numpy(ak.flatten(batch.jets.btag))).all()
    )


@pytest.mark.parametrize(
    "case", sorted(k for k in BAD_INPUTS if "hdf5" not in k and k != "unsupported_suffix")
)
def test_bad_root_inputs(case: str, tmp_path: Path, nano_tt: Path) -> None:
    build, fragment = BAD_INPUTS[case]
    path = build(tmp_path, nano_tt)
    with pytest.raises(TrigkitError) as err:
        list(iter_nanoaod(path))
    message = str(err.value)
    assert str(path) in message and fragment in message and "\n" not in message


def test_inconsistent_multiplicities(tmp_path: Path) -> None:
    path = tmp_path / "mismatch.root"
    with uproot.recreate(path) as f:
        f.mktree(
            "Events",
            {f"Jet_{k}": "var * float32" for k in ("pt", "eta", "phi", "mass")},
            counter_name=lambda b: f"n{b}",
        )
        good, bad = ak.Array([[1.0, 2.0], [3.0]]), ak.Array([[1.0], [3.0, 4.0, 5.0]])
        f["Events"].extend({"Jet_pt": good, "Jet_eta": bad, "Jet_phi": good, "Jet_mass": good})
    with pytest.raises(TrigkitError, match="inconsistent NanoAOD collections"):
        read_nanoaod(path)


def test_bad_options(nano_tt: Path) -> None:
    with pytest.raises(TrigkitError, match="step_size"):
        list(iter_nanoaod(nano_tt, step_size=0))
    with pytest.raises(TrigkitError, match="must be positive"):
        read_nanoaod(nano_tt, xsec_pb=-1.0)
