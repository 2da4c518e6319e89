"""The one strict pydantic base, and the one place a ValidationError becomes a TrigkitError.

Every config and file schema subclasses :class:`Validated` (frozen, unknown keys refused; a
model that must stay mutable sets ``model_config = ConfigDict(frozen=False)``). Built in code
(``Model(**fields)``) or read from a file (:meth:`Validated.parse`, :func:`validate` for a
``TypeAdapter``), bad input raises one :class:`TrigkitError` line naming each bad field, the
value given and what is valid.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError
from typing_extensions import Self

from trigkit.core.errors import TrigkitError

T = TypeVar("T")
_MAX_SHOWN = 60  # characters of a rejected value quoted in the message
_WHERE: ContextVar[str] = ContextVar("trigkit_validated_where", default="")  # set by parse()


def describe(exc: ValidationError, owner: str = "") -> str:
    """One line naming each bad field (``owner.field``), what was given and what is valid."""
    parts = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"])
        name = ".".join(p for p in (owner, field) if p)
        given = err.get("input")
        shown = "" if isinstance(given, dict) or not field else f" (got {_short(given)})"
        msg = err["msg"].removeprefix("Value error, ")
        parts.append(f"{name}: {msg}{shown}" if name else f"{msg}{shown}")
    return "; ".join(parts)


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


def validation_error(exc: ValidationError, owner: str = "", where: str = "") -> TrigkitError:
    """The :class:`TrigkitError` for ``exc``; ``where`` (a file, a command) leads the line."""
    text = describe(exc, owner)
    return TrigkitError(f"{where}: {text}" if where else text)


def validate(schema: TypeAdapter[T], data: object, where: str, owner: str = "") -> T:
    """``schema.validate_python(data)``, a bad value raising :func:`validation_error`."""
    token = _WHERE.set(where)  # a Validated member's own __init__ names ``where`` too
    try:
        return schema.validate_python(data)
    except ValidationError as exc:
        raise validation_error(exc, owner, where) from None
    finally:
        _WHERE.reset(token)


class Validated(BaseModel):
    """Frozen, extra keys forbidden; bad values raise :class:`TrigkitError`, not ValidationError.

    pydantic runs this ``__init__`` for nested models and for ``model_validate`` too, so the
    error names the innermost model at fault (``QATOptions.bits: ...``) however it was built.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise validation_error(exc, type(self).__name__, _WHERE.get()) from None

    @classmethod
    def parse(cls, data: object, where: str) -> Self:
        """Validate ``data`` read from ``where`` (a file, a manifest field); errors name it."""
        if not isinstance(data, dict):
            raise TrigkitError(f"{where}: expected a mapping of fields, got {type(data).__name__}")
        token = _WHERE.set(where)
        try:
            return cls.model_validate(data)
        finally:
            _WHERE.reset(token)
