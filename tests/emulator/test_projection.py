"""Reading only the fields a menu needs (Parquet column projection) changes no result."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest

from trigkit.emulator.compiled import compile_menu
from trigkit.emulator.pipeline import assemble_sample, evaluate_batch, needed_fields, run_files
from trigkit.emulator.schema import load_menu
from trigkit.emulator.scores import (
    CachedScores,
    RunnerScores,
    attach_baseline_scores,
    baseline_btag,
    baseline_l1_score,
    second_highest_per_jet,
)
from trigkit.events.generator import generate
from trigkit.events.parquet_io import iter_parquet, leaf_fields, write_parquet


@pytest.fixture(scope="module")
def qcd(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("proj") / "qcd.parquet"
    b = generate("qcd", 1200, seed=31)
    write_parquet([b[:500], b[500:]], path)
    return path


def _get(arr, dotted: str):
    for k in dotted.split("."):
        arr = arr[k]
    return arr


def test_projected_read_equals_full_read_for_the_fields_read(qcd) -> None:
    cols = ["jets.pt", "jets.eta", "jets.tracks.d0_sig", "fatjets.msd", "no.such.field"]
    for part, full in zip(iter_parquet(qcd, columns=cols), iter_parquet(qcd), strict=True):
        assert part.jets.fields == ["pt", "eta", "tracks"] and part.fatjets.fields == ["msd"]
        for c in cols[:-1]:
            coll, rest = c.split(".", 1)
            a, b = _get(getattr(part, coll), rest), _get(getattr(full, coll), rest)
            assert a.type == b.type and ak.array_equal(a, b), c
        np.testing.assert_array_equal(part.weight, full.weight)
        assert (
            ak.array_equal(part.truth, full.truth, equal_nan=True)
            and part.truth.type == full.truth.type
        )
        assert (part.process, part.lumi_pb, part.source) == (
            full.process,
            full.lumi_pb,
            full.source,
        )
    assert next(iter_parquet(qcd, columns=["jets.pt"])).fatjets is None


def test_run_files_with_projection_equals_full_batches(qcd) -> None:
    cmenu = compile_menu(load_menu("run3_hh4b"))
    fields = needed_fields(cmenu.menu, leaf_fields(qcd))
    assert fields is not None and "jets.tracks.d0_sig" in fields and "jets.tracks.pt" not in fields
    (got,) = run_files(cmenu, [qcd])
    ref = assemble_sample(cmenu, "qcd", [evaluate_batch(cmenu, b) for b in iter_parquet(qcd)])
    np.testing.assert_array_equal(got.decisions.l1, ref.decisions.l1)
    np.testing.assert_array_equal(got.decisions.hlt, ref.decisions.hlt)
    for f in ("weight", "lumi_pb", "mhh", "lead_pt", "ht", "n_jets"):
        np.testing.assert_array_equal(getattr(got, f), getattr(ref, f))
    assert got.scores == ref.scores


def test_needed_fields_prefers_a_score_in_the_file_and_reads_all_for_taggers(tmp_path) -> None:
    menu = load_menu("run3_hh4b")
    b = attach_baseline_scores(generate("qcd", 50, seed=2), ("btag", "xbb"))
    path = tmp_path / "scored.parquet"
    write_parquet([b], path)
    fields = needed_fields(menu, leaf_fields(path))
    assert "jets.btag" in fields and "fatjets.xbb" in fields
    assert not any(".tracks." in f or ".constituents." in f or f == "fatjets.tau21" for f in fields)
    assert needed_fields(menu, leaf_fields(path), [RunnerScores(runner=None, inputs=dict)]) is None
    assert "jets.btag" in needed_fields(
        menu, ["jets.pt"], [CachedScores("btag", from_field="btag")]
    )
    assert (
        needed_fields(menu, ["jets.pt", "jets.eta"]) is None
    )  # no score, no tracks: the full read reports it


def _second_highest_sorted(d0_sig: ak.Array) -> np.ndarray:
    """The independent reference: index 1 of each list sorted by awkward (decreasing)."""
    d0s = ak.sort(d0_sig, axis=2, ascending=False)
    s2 = ak.fill_none(ak.pad_none(d0s, 2, axis=2)[:, :, 1], -np.inf)
    return ak.to_numpy(ak.flatten(s2, axis=1)).astype(np.float64)


def test_second_highest_matches_the_sorted_reference() -> None:
    rng = np.random.default_rng(4)
    counts = rng.integers(0, 6, 400)
    vals = np.round(rng.normal(0, 4, counts.sum()), 1).astype(np.float32)  # rounding makes ties
    vals[:3] = -np.inf
    vals[rng.random(len(vals)) < 0.05] = np.nan  # NaN sorts first, as in awkward
    d0 = ak.unflatten(ak.unflatten(vals, counts), [100] * 4)
    jets = ak.zip({"tracks": ak.zip({"d0_sig": d0})}, depth_limit=2)
    got, want = (
        second_highest_per_jet(jets.tracks.d0_sig),
        _second_highest_sorted(jets.tracks.d0_sig),
    )
    np.testing.assert_array_equal(got, want)  # NaN where both have NaN
    assert np.isnan(want).any() and np.isfinite(want).sum() > 100 and np.isneginf(want).any()
    assert baseline_btag(jets).dtype == np.float32 and baseline_l1_score(jets).dtype == np.float32
    with_nan = ak.zip(
        {"tracks": ak.zip({"d0_sig": ak.Array([[[np.float32(np.nan), np.float32(1.0)]]])})},
        depth_limit=2,
    )
    assert second_highest_per_jet(with_nan.tracks.d0_sig).tolist() == [1.0]  # NaN first
    assert baseline_btag(with_nan).shape == (1,)
