"""`Validated` and `validate`: the one strict base and the one ValidationError -> TrigkitError."""

from __future__ import annotations

from typing import Literal

import pytest
from pydantic import ConfigDict, Field, TypeAdapter

from trigkit.core.errors import TrigkitError
from trigkit.core.validated import Validated, validate


class _Inner(Validated):
    bits: int = Field(8, ge=2, le=32)


class _Outer(Validated):
    mode: Literal["a", "b"] = "a"
    inner: _Inner = Field(default_factory=_Inner)


class _Mutable(Validated):
    model_config = ConfigDict(frozen=False)
    n: int = 0


def test_built_in_code_bad_values_name_model_field_and_value() -> None:
    with pytest.raises(TrigkitError) as info:
        _Outer(mode="c")
    assert str(info.value) == "_Outer.mode: Input should be 'a' or 'b' (got 'c')"
    with pytest.raises(TrigkitError, match=r"^_Inner\.bits: .*less than or equal to 32 \(got 99\)"):
        _Outer(inner={"bits": 99})  # the innermost model at fault is named
    with pytest.raises(TrigkitError, match=r"_Outer\.typo: Extra inputs are not permitted"):
        _Outer(typo=1)


def test_one_line_for_several_bad_fields_and_long_values_are_cut() -> None:
    with pytest.raises(TrigkitError) as info:
        _Outer(mode="x" * 200, typo=2)
    text = str(info.value)
    assert "\n" not in text and text.count("; ") == 1 and "..." in text and len(text) < 200


def test_parse_names_where_the_data_came_from() -> None:
    assert _Outer.parse({"inner": {"bits": 4}}, "cfg.json").inner.bits == 4
    with pytest.raises(TrigkitError, match=r"^cfg\.json: _Inner\.bits: "):
        _Outer.parse({"inner": {"bits": 1}}, "cfg.json")
    with pytest.raises(TrigkitError, match=r"^cfg\.json: expected a mapping of fields, got list"):
        _Outer.parse([1, 2], "cfg.json")


def test_frozen_by_default_mutable_when_asked() -> None:
    with pytest.raises(Exception, match="frozen"):
        _Inner().bits = 4  # type: ignore[misc]
    m = _Mutable()
    m.n = 3
    assert m.n == 3
    with pytest.raises(TrigkitError, match=r"_Mutable\.extra: Extra inputs"):
        _Mutable(extra=1)


def test_validate_an_adapter() -> None:
    adapter: TypeAdapter[_Inner] = TypeAdapter(_Inner)
    assert validate(adapter, {"bits": 6}, "x.yaml").bits == 6
    with pytest.raises(TrigkitError, match=r"^x\.yaml: _Inner\.bits: "):
        validate(adapter, {"bits": 0}, "x.yaml")
    with pytest.raises(TrigkitError, match=r"^x\.yaml: .*valid dictionary"):
        validate(TypeAdapter(_Inner), "nope", "x.yaml")
