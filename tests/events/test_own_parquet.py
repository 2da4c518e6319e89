"""A user's own Parquet file (written by awkward, no trigkit metadata) is read by its fields."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from trigkit.core.errors import TrigkitError
from trigkit.events import batch as batch_mod
from trigkit.events.parquet_io import read_parquet
from trigkit.events.schema import COLUMNS, leaf_table
from trigkit.events.sources import open_events


def _jet(pt: float, n_tracks: int) -> dict:
    tracks = [
        {
            "pt": 1.0 + k,
            "deta": 0.01,
            "dphi": -0.02,
            "d0": 0.1,
            "z0": 0.2,
            "d0_sig": 3.0 - k,
            "z0_sig": 1.5,
            "quality": 2,
        }
        for k in range(n_tracks)
    ]
    return {
        "pt": pt,
        "eta": 0.5,
        "phi": -1.0,
        "mass": 9.0,
        "hadron_flavour": 5,
        "parton_flavour": 21,
        "is_pileup": False,
        "btag": 0.9,
        "tracks": tracks,
    }


def _user_events(n: int = 200) -> ak.Array:
    """What a coffea user writes: python floats/ints, so float64 and int64 columns."""
    rng = np.random.default_rng(3)
    rows = []
    for i in range(n):
        jets = [
            _jet(float(p), int(rng.integers(0, 3)))
            for p in sorted(rng.uniform(20, 200, i % 5))[::-1]
        ]
        rows.append(
            {
                "jets": jets,
                "weight": 0.5 + i,
                "truth": {"mhh": 400.0 + i, "h1_pt": 100.0, "h2_pt": 90.0},
            }
        )
    return ak.Array(rows)


@pytest.fixture(scope="module")
def user_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("own") / "mine.parquet"
    ak.to_parquet(_user_events(), path)
    return path


def test_awkward_written_file_is_read(user_file) -> None:
    assert b"trigkit.format" not in (pq.ParquetFile(user_file).schema_arrow.metadata or {})
    events = _user_events()
    got = read_parquet(user_file)
    assert len(got) == 200 and (got.process, got.lumi_pb) == ("parquet", 1.0)
    np.testing.assert_array_equal(got.weight, 0.5 + np.arange(200))
    assert str(ak.type(got.jets.pt).content.content) == "float32"
    assert str(ak.type(got.jets.hadron_flavour).content.content) == "int8"
    assert str(ak.type(got.jets.tracks.d0_sig).content.content.content) == "float32"
    np.testing.assert_allclose(
        ak.to_numpy(ak.flatten(got.jets.pt)), ak.to_numpy(ak.flatten(events.jets.pt)), rtol=1e-7
    )
    assert ak.all(got.jets.hadron_flavour == 5) and ak.all(got.jets.parton_flavour == 21)
    assert ak.array_equal(ak.num(got.jets.tracks, axis=2), ak.num(events.jets.tracks, axis=2))
    assert "btag" in got.jets.fields and "quality" in got.jets.tracks.fields  # extras kept
    assert len(open_events(user_file)) == 200


def _write_without(tmp_path, arr: ak.Array, name: str):
    path = tmp_path / name
    ak.to_parquet(arr, path)
    return path


def test_missing_field_named_with_type(tmp_path) -> None:
    arr = _user_events(20)
    jets = arr.jets
    tracks = jets.tracks[[f for f in jets.tracks.fields if f != "d0"]]
    arr = ak.with_field(arr, ak.with_field(jets, tracks, "tracks"), "jets")
    path = _write_without(tmp_path, arr, "nod0.parquet")
    with pytest.raises(
        TrigkitError, match=r"nod0.parquet: .*missing field 'jets.tracks.d0' \(float32\)"
    ):
        read_parquet(path)
    no_truth = _write_without(tmp_path, arr[["jets", "weight"]], "notruth.parquet")
    with pytest.raises(TrigkitError, match=r"missing field 'truth' \(\{mhh: float32, h1_pt"):
        read_parquet(no_truth)


def test_mistyped_field_named_with_expected_type(tmp_path) -> None:
    arr = _user_events(20)
    arr = ak.with_field(
        arr, ak.values_astype(arr.jets.hadron_flavour, np.float32), ["jets", "hadron_flavour"]
    )
    arr = ak.with_field(arr, ak.values_astype(arr.jets.is_pileup, np.int8), ["jets", "is_pileup"])
    path = _write_without(tmp_path, arr, "typed.parquet")
    with pytest.raises(TrigkitError) as err:
        read_parquet(path)
    msg = str(err.value)
    assert "field 'jets.hadron_flavour' is float32, expected int8" in msg
    assert "field 'jets.is_pileup' is int8, expected bool" in msg


def test_integer_out_of_range_is_refused(tmp_path) -> None:
    arr = _user_events(20)
    arr = ak.with_field(arr, arr.jets.parton_flavour * 100, ["jets", "parton_flavour"])
    path = _write_without(tmp_path, arr, "big.parquet")
    with pytest.raises(TrigkitError, match=r"'jets.parton_flavour' \(int64\) holds 2100..2100"):
        read_parquet(path)


def test_plain_pyarrow_file_nullable_fields_without_nulls(tmp_path) -> None:
    rows = ak.to_list(_user_events(30))
    path = tmp_path / "pyarrow.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)  # every field nullable, as pandas writes
    assert pq.ParquetFile(path).schema_arrow.field("jets").nullable
    got = read_parquet(path)
    assert str(ak.type(got.jets.pt).content.content) == "float32"  # no option type
    assert str(ak.type(got.jets.tracks.d0).content.content.content) == "float32"
    np.testing.assert_array_equal(got.weight, 0.5 + np.arange(30))
    assert ak.num(got.jets.tracks, axis=2).tolist() == (
        ak.num(_user_events(30).jets.tracks, axis=2).tolist()
    )
    from trigkit.events.parquet_io import iter_parquet

    (projected,) = list(iter_parquet(path, columns=["jets.pt", "jets.eta"]))
    assert (
        projected.jets.fields == ["pt", "eta"]
        and str(ak.type(projected.jets.pt).content.content) == "float32"
    )


def test_missing_values_are_named(tmp_path) -> None:
    rows = ak.to_list(_user_events(30))
    rows[7]["jets"][1]["tracks"] = None
    rows[9]["jets"][0]["pt"] = None
    path = tmp_path / "holes.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    with pytest.raises(TrigkitError, match=r"holes.parquet: field 'jets.pt' holds missing values"):
        read_parquet(path)
    ak.to_parquet(ak.Array(rows), tmp_path / "option.parquet")  # awkward: ?float64 option type
    with pytest.raises(TrigkitError, match=r"field 'jets.pt' (holds missing|is an option type)"):
        read_parquet(tmp_path / "option.parquet")


def test_schema_follows_batch_definition() -> None:
    rows = {name for name, _, _ in leaf_table()}
    for prefix, names in [
        ("jets", batch_mod.JET_FIELDS),
        ("jets.tracks", batch_mod.TRACK_FIELDS),
        ("fatjets", batch_mod.FATJET_FIELDS),
        ("fatjets.constituents", batch_mod.CONSTITUENT_FIELDS),
        ("truth", batch_mod.TRUTH_FIELDS),
        ("l1jets", batch_mod.L1JET_FIELDS),
    ]:
        assert {f"{prefix}.{n}" for n in names} <= rows
    required = {c.name for c in COLUMNS if c.required}
    assert required == {"jets", "weight", "truth"}
    assert {c.name for c in COLUMNS} == {
        "jets",
        "weight",
        "truth",
        "fatjets",
        "triggers",
        "trigobj",
        "l1jets",
    }


def test_readme_schema_table_is_current() -> None:
    from pathlib import Path

    from trigkit.events.schema import markdown_table

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    begin, end = "<!-- eventbatch-schema:begin -->\n", "\n<!-- eventbatch-schema:end -->"
    block = readme[readme.index(begin) + len(begin) : readme.index(end)]
    assert block == markdown_table(), "regenerate with: python -m trigkit.events.schema"


def test_trigkit_file_may_hold_a_subset_but_is_type_checked(tmp_path) -> None:
    from trigkit.events.batch import EventBatch
    from trigkit.events.parquet_io import write_parquet

    n = 30
    truth = ak.zip({"mhh": np.full(n, 400.0), "h1_pt": np.zeros(n), "h2_pt": np.zeros(n)})
    jets = ak.zip({"pt": ak.Array([[50.0, 30.0]] * n), "btag": ak.Array([[0.9, 0.1]] * n)})
    partial = EventBatch(jets=jets, weight=np.ones(n), truth=truth, process="qcd", lumi_pb=2.0)
    write_parquet([partial], tmp_path / "menu_only.parquet")
    back = read_parquet(tmp_path / "menu_only.parquet")
    assert back.jets.fields == ["pt", "btag"] and (back.process, back.lumi_pb) == ("qcd", 2.0)
    assert str(ak.type(back.jets.pt).content.content) == "float64"  # read as written
    bad = EventBatch(
        jets=ak.with_field(jets, ak.Array([["b", "l"]] * n), "hadron_flavour"),
        weight=np.ones(n),
        truth=truth,
        process="qcd",
    )
    write_parquet([bad], tmp_path / "bad.parquet")
    with pytest.raises(TrigkitError, match="field 'jets.hadron_flavour' is .*, expected int8"):
        read_parquet(tmp_path / "bad.parquet")
