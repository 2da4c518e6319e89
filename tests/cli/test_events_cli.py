"""`trigkit events info` / `trigkit events read`: numbers printed, conversions, bad input."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot

from tests.events._bad_inputs import BAD_INPUTS
from tests.events.test_hdf5 import hand_batch
from trigkit.cli.app import main
from trigkit.events.hdf5 import read_hdf5, write_hdf5

needs_parquet = pytest.mark.skipif(
    importlib.util.find_spec("trigkit.events.parquet_io") is None,
    reason="trigkit.events.parquet_io not written yet",
)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    rc = main(list(args))
    out, err = capsys.readouterr()
    return rc, out, err


def _rows(out: str) -> dict[str, str]:
    """quantity -> value from the rich table (rows whose first cell is not folded)."""
    rows = {}
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip("│ ").split("│")]
        if len(cells) == 2 and cells[1]:
            rows[cells[0]] = cells[1]
    return rows


def test_info_root_numbers(capsys: pytest.CaptureFixture[str], nano_tt: Path) -> None:
    rc, out, err = run(capsys, "events", "info", str(nano_tt))
    assert rc == 0, err
    with uproot.open(nano_tt) as f:
        raw = f["Events"].arrays(
            filter_name=["Jet_hadronFlavour", "nJet", "nFatJet", "HLT_PFHT1050"]
        )
    rows = _rows(out)
    assert rows["events"] == "200"
    assert rows["jets"] == str(int(ak.sum(raw.nJet)))
    assert rows["mean jets / event"] == f"{float(ak.mean(raw.nJet)):.3f}"
    nb = ak.to_numpy(ak.sum(raw.Jet_hadronFlavour == 5, axis=1))
    assert rows["events with 2 b jets"] == f"{np.mean(nb == 2):.4f}"
    assert rows["events with >=4 b jets"] == f"{np.mean(nb >= 4):.4f}"
    assert rows["fat jets"] == str(int(ak.sum(raw.nFatJet)))
    assert (
        rows["HLT_PFHT1050"]
        == f"{int(ak.sum(raw.HLT_PFHT1050))} ({float(ak.mean(raw.HLT_PFHT1050)):.1%})"
    )
    assert rows["mHH quantiles"] == "n/a (no HH truth)"


def test_info_hdf5_mhh_quantiles(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write_hdf5(hand_batch(), tmp_path / "hand.h5")
    rc, out, err = run(capsys, "events", "info", str(path))
    assert rc == 0, err
    rows = _rows(out)
    # finite mHH of the hand batch: 300 and 410 -> median 355, 5% = 300 + 0.05 * 110
    assert rows["mHH 50% quantile [GeV]"] == "355.0"
    assert rows["mHH 5% quantile [GeV]"] == "305.5"
    assert rows["events with 1 b jets"] == "0.3333"
    assert rows["sum of weights"] == "1.75"


def test_read_root_to_hdf5_then_info(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, nano_dimuon: Path
) -> None:
    out_path = tmp_path / "dimuon.h5"
    rc, out, err = run(capsys, "events", "read", str(nano_dimuon), "--out", str(out_path))
    assert rc == 0, err
    assert "wrote 40 events" in out
    assert len(read_hdf5(out_path).triggers) == 664 + 524
    _, info_root, _ = run(capsys, "events", "info", str(nano_dimuon), "--top", "3")
    _, info_h5, _ = run(capsys, "events", "info", str(out_path), "--top", "3")
    assert _rows(info_root) == _rows(info_h5)
    assert list(tmp_path.iterdir()) == [out_path]


@needs_parquet
def test_read_root_to_parquet(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, nano_tt: Path
) -> None:
    out_path = tmp_path / "tt.parquet"
    rc, _, err = run(
        capsys, "events", "read", str(nano_tt), "--out", str(out_path), "--xsec-pb", "833.9"
    )
    assert rc == 0, err
    _, info, _ = run(capsys, "events", "info", str(out_path))
    rows = _rows(info)
    assert rows["events"] == "200" and rows["sum of weights"] == "833.9"


def _assert_one_line_error(rc: int, out: str, err: str, path: Path, fragment: str) -> None:
    assert rc == 1
    assert "Traceback" not in out + err
    assert out.strip() == ""
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and str(path) in lines[0] and fragment in lines[0]


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_info(
    case: str, capsys: pytest.CaptureFixture[str], tmp_path: Path, nano_tt: Path
) -> None:
    build, fragment = BAD_INPUTS[case]
    path = build(tmp_path, nano_tt)
    rc, out, err = run(capsys, "events", "info", str(path))
    _assert_one_line_error(rc, out, err, path, fragment)


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
@pytest.mark.parametrize("suffix", [".h5", ".parquet"])
def test_bad_input_read_leaves_nothing(
    case: str, suffix: str, capsys: pytest.CaptureFixture[str], tmp_path: Path, nano_tt: Path
) -> None:
    build, fragment = BAD_INPUTS[case]
    path = build(tmp_path, nano_tt)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    rc, out, err = run(capsys, "events", "read", str(path), "--out", str(out_dir / f"x{suffix}"))
    _assert_one_line_error(rc, out, err, path, fragment)
    assert list(out_dir.iterdir()) == []


def test_bad_output_suffix_and_overwrite(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, nano_tt: Path
) -> None:
    target = tmp_path / "x.csv"
    rc, out, err = run(capsys, "events", "read", str(nano_tt), "--out", str(target))
    _assert_one_line_error(rc, out, err, target, "unsupported output type '.csv'")
    assert not target.exists()
    h5 = write_hdf5(hand_batch(), tmp_path / "same.h5")
    before = h5.read_bytes()
    rc, out, err = run(capsys, "events", "read", str(h5), "--out", str(h5))
    _assert_one_line_error(rc, out, err, h5, "would overwrite the input")
    assert h5.read_bytes() == before
    rc, out, err = run(
        capsys, "events", "read", str(h5), "--out", str(tmp_path / "y.h5"), "--xsec-pb", "2"
    )
    _assert_one_line_error(rc, out, err, h5, "apply to NanoAOD input only")
    assert not (tmp_path / "y.h5").exists()
