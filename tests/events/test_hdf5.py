"""HDF5 (ATLAS flavour-tagging layout) writer and reader: round trips, layout, plain dumper
files."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import h5py
import numpy as np
import pytest

from tests.events._bad_inputs import BAD_INPUTS
from trigkit.core.errors import TrigkitError
from trigkit.events.batch import EventBatch
from trigkit.events.hdf5 import read_hdf5, write_hdf5
from trigkit.events.nanoaod import read_nanoaod


def _tracks(rows: list[tuple[float, ...]]) -> list[dict[str, float]]:
    keys = ("pt", "deta", "dphi", "d0", "z0", "d0_sig", "z0_sig")
    return [dict(zip(keys, r, strict=True)) for r in rows]


def hand_batch() -> EventBatch:
    """3 events: 2 jets with tracks / no jets / 1 jet without tracks; fat jets with constituents."""
    jet = {"is_pileup": False}
    jets = ak.Array(
        [
            [
                {
                    "pt": 120.0,
                    "eta": 0.5,
                    "phi": 1.0,
                    "mass": 12.0,
                    "hadron_flavour": 5,
                    "parton_flavour": 5,
                    **jet,
                    "tracks": _tracks(
                        [
                            (10.0, 0.01, -0.02, 0.2, 0.5, 12.0, 3.0),
                            (5.0, -0.03, 0.01, -0.01, -0.1, -1.5, -0.8),
                        ]
                    ),
                    "btag": 0.9,
                },
                {
                    "pt": 60.0,
                    "eta": -1.7,
                    "phi": -2.0,
                    "mass": 8.0,
                    "hadron_flavour": 0,
                    "parton_flavour": 21,
                    "is_pileup": True,
                    "tracks": _tracks([(3.0, 0.1, 0.1, 0.02, 0.04, 0.7, 0.3)]),
                    "btag": 0.1,
                },
            ],
            [],
            [
                {
                    "pt": 45.0,
                    "eta": 2.1,
                    "phi": 3.0,
                    "mass": 5.0,
                    "hadron_flavour": 4,
                    "parton_flavour": 4,
                    **jet,
                    "tracks": [],
                    "btag": 0.4,
                }
            ],
        ]
    )
    jets = ak.zip(
        {f: ak.values_astype(jets[f], np.int8) if "flavour" in f else jets[f] for f in jets.fields},
        depth_limit=2,
    )
    cons = [{"pt": 30.0, "deta": 0.1, "dphi": -0.2, "d0_sig": 4.0, "charge": 1}]
    fatjets = ak.Array(
        [
            [
                {
                    "pt": 400.0,
                    "eta": 0.2,
                    "phi": 1.1,
                    "mass": 125.0,
                    "msd": 118.0,
                    "tau21": 0.3,
                    "label": 1,
                    "constituents": cons,
                }
            ],
            [],
            [],
        ]
    )
    return EventBatch(
        jets=jets,
        weight=np.array([0.5, 1.5, -0.25]),
        truth=ak.zip(
            {
                "mhh": np.array([410.0, np.nan, 300.0]),
                "h1_pt": np.array([200.0, np.nan, 90.0]),
                "h2_pt": np.array([150.0, np.nan, 60.0]),
            }
        ),
        fatjets=fatjets,
        triggers={"HLT_A": np.array([True, False, True]), "L1_B": np.array([False, False, True])},
        process="hh4b",
        lumi_pb=3.0,
    )


def _assert_same(a: ak.Array, b: ak.Array) -> None:
    assert ak.to_list(ak.num(a, axis=1)) == ak.to_list(ak.num(b, axis=1))
    for field in a.fields:
        x, y = a[field], b[field]
        if field in ("tracks", "constituents"):
            _assert_same(ak.flatten(x, axis=1), ak.flatten(y, axis=1))
            continue
        x, y = ak.to_numpy(ak.flatten(x, axis=None)), ak.to_numpy(ak.flatten(y, axis=None))
        np.testing.assert_allclose(
            y.astype(np.float64),
            x.astype(np.float64),
            rtol=2e-6,
            atol=1e-6,
            equal_nan=True,
            err_msg=field,
        )


def test_round_trip_hand_batch(tmp_path: Path) -> None:
    batch = hand_batch()
    path = write_hdf5(batch, tmp_path / "hand.h5")
    back = read_hdf5(path)
    assert len(back) == 3 and back.process == "hh4b" and back.lumi_pb == 3.0
    _assert_same(batch.jets, back.jets)
    assert back.fatjets is not None
    _assert_same(batch.fatjets, back.fatjets)
    np.testing.assert_array_equal(back.weight, batch.weight)
    np.testing.assert_allclose(ak.to_numpy(back.truth.mhh), [410.0, np.nan, 300.0], equal_nan=True)
    assert set(back.triggers) == {"HLT_A", "L1_B"}
    np.testing.assert_array_equal(back.triggers["L1_B"], [False, False, True])
    assert list(tmp_path.iterdir()) == [path]


def test_file_layout_is_atlas_like(tmp_path: Path) -> None:
    path = write_hdf5(hand_batch(), tmp_path / "hand.h5")
    with h5py.File(path) as f:
        jets, tracks = f["jets"][...], f["tracks"][...]
    assert {
        "pt",
        "eta",
        "HadronConeExclTruthLabelID",
        "PartonTruthLabelID",
        "eventNumber",
        "mcEventWeight",
    } <= set(jets.dtype.names)
    np.testing.assert_allclose(jets["pt"], [120e3, 60e3, 45e3])  # MeV
    np.testing.assert_array_equal(jets["eventNumber"], [0, 0, 2])
    np.testing.assert_array_equal(jets["HadronConeExclTruthLabelID"], [5, 0, 4])
    assert tracks.shape == (3, 2)
    np.testing.assert_array_equal(tracks["valid"], [[True, True], [True, False], [False, False]])
    np.testing.assert_allclose(tracks["ptfrac"][0], [10.0 / 120.0, 5.0 / 120.0], rtol=1e-6)
    # z0 sin(theta) with theta of the track direction: sin(theta) = 1 / cosh(eta_jet + deta)
    np.testing.assert_allclose(tracks["z0SinTheta"][0, 0], 0.5 / np.cosh(0.5 + 0.01), rtol=1e-6)
    np.testing.assert_allclose(tracks["IP3D_signed_d0_significance"][0], [12.0, -1.5])


def test_round_trip_real_nanoaod(tmp_path: Path, nano_dimuon: Path) -> None:
    batch = read_nanoaod(nano_dimuon)
    back = read_hdf5(write_hdf5(batch, tmp_path / "dimuon.h5"))
    _assert_same(batch.jets, back.jets)
    _assert_same(batch.fatjets, back.fatjets)
    _assert_same(batch.trigobj, back.trigobj)
    assert list(back.triggers) == list(batch.triggers)
    for name, bits in batch.triggers.items():
        np.testing.assert_array_equal(back.triggers[name], bits)


def _dumper_file(path: Path) -> None:
    """A file as the training-dataset-dumper writes it: jets + tracks only, MeV, float16 scores."""
    jets = np.zeros(
        5,
        dtype=[
            ("pt", "f4"),
            ("eta", "f4"),
            ("phi", "f4"),
            ("mass", "f4"),
            ("eventNumber", "i8"),
            ("HadronConeExclTruthLabelID", "i4"),
            ("mcEventWeight", "f4"),
            ("GN2_pb", "f2"),
        ],
    )
    jets["pt"] = [50e3, 80e3, 30e3, 70e3, 20e3]
    jets["eta"] = [0.1, -0.2, 1.0, 0.3, -2.0]
    jets["eventNumber"] = [77, 77, 12, 12, 77]  # event 77's jets are not contiguous
    jets["HadronConeExclTruthLabelID"] = [5, 15, 4, 0, 5]
    jets["mcEventWeight"] = [2.0, 2.0, 0.5, 0.5, 2.0]
    jets["GN2_pb"] = [0.9, 0.2, 0.3, 0.1, 0.8]
    tracks = np.zeros(
        (5, 3),
        dtype=[
            ("valid", "?"),
            ("ptfrac", "f4"),
            ("deta", "f4"),
            ("dphi", "f4"),
            ("d0", "f4"),
            ("z0SinTheta", "f4"),
            ("IP3D_signed_d0_significance", "f4"),
            ("IP3D_signed_z0_significance", "f4"),
        ],
    )
    tracks["valid"][0, :2] = True
    tracks["ptfrac"][0, :2] = [0.2, 0.1]
    tracks["deta"][0, :2] = [0.05, -0.05]
    tracks["d0"][0, :2] = [-0.3, 0.01]  # geometric sign, opposite to the lifetime sign for track 0
    tracks["z0SinTheta"][0, :2] = [0.4, -0.02]
    tracks["IP3D_signed_d0_significance"][0, :2] = [6.0, -0.5]
    tracks["IP3D_signed_z0_significance"][0, :2] = [3.0, -0.2]
    with h5py.File(path, "w") as f:
        f.create_dataset("jets", data=jets)
        f.create_dataset("tracks", data=tracks)


def test_reads_plain_dumper_file(tmp_path: Path) -> None:
    path = tmp_path / "dumper.h5"
    _dumper_file(path)
    batch = read_hdf5(path)
    assert len(batch) == 2 and batch.process == "hdf5"  # events 77 then 12 (first appearance)
    assert ak.to_list(batch.jets.pt) == [[80.0, 50.0, 20.0], [70.0, 30.0]]  # grouped, pt-ordered
    assert ak.to_list(batch.jets.hadron_flavour) == [[0, 5, 5], [0, 4]]  # tau (15) reads as light
    assert ak.to_list(batch.jets.parton_flavour) == [[-1, -1, -1], [-1, -1]]
    np.testing.assert_array_equal(batch.weight, [2.0, 0.5])
    assert (
        np.isnan(ak.to_numpy(batch.truth.mhh)).all()
        and batch.triggers == {}
        and batch.fatjets is None
    )
    np.testing.assert_allclose(ak.to_numpy(batch.jets.GN2_pb[0]), [0.2, 0.9, 0.8], rtol=1e-3)
    trk = batch.jets.tracks[0, 1]  # the 50 GeV jet
    assert len(trk) == 2 and len(batch.jets.tracks[0, 0]) == 0
    np.testing.assert_allclose(ak.to_numpy(trk.pt), [10.0, 5.0], rtol=1e-6)
    np.testing.assert_allclose(ak.to_numpy(trk.d0), [0.3, -0.01], rtol=1e-6)  # lifetime-signed
    np.testing.assert_allclose(
        ak.to_numpy(trk.z0), [0.4 * np.cosh(0.15), -0.02 * np.cosh(0.05)], rtol=1e-6
    )


@pytest.mark.parametrize("case", sorted(k for k in BAD_INPUTS if "hdf5" in k))
def test_bad_hdf5_inputs(case: str, tmp_path: Path) -> None:
    build, fragment = BAD_INPUTS[case]
    path = build(tmp_path, tmp_path)
    with pytest.raises(TrigkitError) as err:
        read_hdf5(path)
    assert str(path) in str(err.value) and fragment in str(err.value) and "\n" not in str(err.value)


def test_bad_layouts(tmp_path: Path) -> None:
    path = tmp_path / "bad.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("jets", data=np.zeros((4, 2)))
    with pytest.raises(TrigkitError, match="'jets' must be a 1-d compound dataset"):
        read_hdf5(path)
    _dumper_file(path)
    with h5py.File(path, "a") as f:
        del f["tracks"]
        f.create_dataset("tracks", data=np.zeros((2, 3), dtype=[("valid", "?"), ("d0", "f4")]))
    with pytest.raises(TrigkitError, match="'tracks' has 2 rows but 'jets' has 5"):
        read_hdf5(path)
    with pytest.raises(TrigkitError, match="no such file"):
        read_hdf5(tmp_path / "nope.h5")


def test_failed_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(h5py.Group, "create_dataset", boom)
    with pytest.raises(OSError, match="disk full"):
        write_hdf5(hand_batch(), tmp_path / "out.h5")
    assert list(tmp_path.iterdir()) == []


def test_round_trip_generated_events(tmp_path: Path) -> None:
    """Generated events carry real tracks and constituents: every field survives HDF5."""
    generator = pytest.importorskip("trigkit.events.generator")
    for process in ("hh4b", "qcd"):
        batch = generator.generate(process, 150, seed=5)
        back = read_hdf5(write_hdf5(batch, tmp_path / f"{process}.h5"))
        assert int(ak.sum(ak.num(ak.flatten(batch.jets.tracks, axis=1), axis=1))) > 0
        _assert_same(batch.jets, back.jets)
        _assert_same(batch.fatjets, back.fatjets)
        np.testing.assert_array_equal(back.weight, batch.weight)
        assert back.process == batch.process and back.lumi_pb == batch.lumi_pb
        for name in batch.truth.fields:
            np.testing.assert_allclose(
                ak.to_numpy(back.truth[name]),
                ak.to_numpy(batch.truth[name]),
                rtol=1e-12,
                equal_nan=True,
            )
