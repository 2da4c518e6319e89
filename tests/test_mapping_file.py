"""read_mapping_file: YAML or JSON by suffix; an unreadable file is one error line naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

from trigkit.core.errors import TrigkitError
from trigkit.core.mapping_file import read_mapping_file


def test_yaml_and_json_by_suffix(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("features: [pt, eta]\nfill: 0\n")
    (tmp_path / "a.json").write_text('{"features": ["pt"], "fill": -1}')
    assert read_mapping_file(tmp_path / "a.yaml", "x") == {"features": ["pt", "eta"], "fill": 0}
    assert read_mapping_file(tmp_path / "a.json", "x") == {"features": ["pt"], "fill": -1}


@pytest.mark.parametrize("name, text", [("bad.json", "{not json"), ("bad.yaml", "a: [1, 2")])
def test_unreadable_file_is_one_line_led_by_where(tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(TrigkitError, match=rf"^--feature-map {name}: cannot read \(") as err:
        read_mapping_file(path, f"--feature-map {name}")
    assert "\n" not in str(err.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TrigkitError, match="pre.yaml: preprocessing: cannot read"):
        read_mapping_file(tmp_path / "pre.yaml", "pre.yaml: preprocessing")
