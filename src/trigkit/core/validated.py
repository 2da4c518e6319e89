"""A pydantic base whose validation failures are one-line :class:`TrigkitError`s."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from trigkit.core.errors import TrigkitError


def describe(exc: ValidationError, owner: str) -> str:
    """One line naming each bad field, what was given and what is valid."""
    parts = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"]) or "(input)"
        given = err.get("input")
        shown = "" if isinstance(given, dict) else f" (got {given!r})"
        parts.append(f"{owner}.{field}: {err['msg']}{shown}")
    return "; ".join(parts)


class Validated(BaseModel):
    """Frozen, extra keys forbidden; bad values raise :class:`TrigkitError`, not ValidationError."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise TrigkitError(describe(exc, type(self).__name__)) from None
