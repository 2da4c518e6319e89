"""Run `trigkit emulate` on a one-path menu in a test: the shared setup of the CLI tests of
score sources (feature-mapped and trigkit-trained bundles)."""

from __future__ import annotations

from pathlib import Path

from trigkit.cli.app import main

HT_SEED = "name: t\nl1:\n  L1_HT: {ht: {min: 100}}\n"
BTAG_PATH = "H_tag: {seeds: [L1_HT], btag_count: {wp: 0.0, n: 1, jet_pt: 20}}"


def emulate_one_path(tmp_path: Path, hlt_path: str, signal: Path, *extra: str) -> str:
    """Emulate ``L1_HT`` (HT > 100) and ``hlt_path`` (one YAML line) on ``signal`` with the
    extra CLI arguments; assert it exits 0 and return the result JSON's text."""
    menu = tmp_path / "menu.yaml"
    menu.write_text(f"{HT_SEED}hlt:\n  {hlt_path}\n")
    out = tmp_path / "res"
    args = ["emulate", "--menu", str(menu), "--no-plots", "--out", str(out), *extra]
    assert main([*args, "--signal", str(signal)]) == 0
    return next(out.glob("*.json")).read_text()
