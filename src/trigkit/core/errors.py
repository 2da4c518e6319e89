"""The one exception family users see.

The CLI prints a :class:`TrigkitError` as a single line and exits with code 1; anything else is a
bug and keeps its traceback.
"""

from __future__ import annotations


class TrigkitError(Exception):
    """Bad input or an unusable environment, explained in one line.

    The message names the file, field or layer at fault and says what would be valid.
    """


class MissingDependency(TrigkitError):
    """An optional dependency is not installed."""

    def __init__(self, module: str, extra: str, detail: str = "") -> None:
        self.module = module
        self.extra = extra
        msg = (
            f"optional dependency '{module}' is not available"
            + (f" ({detail})" if detail else "")
            + f"; install it with: pip install 'trigkit[{extra}]'"
        )
        super().__init__(msg)


def first_line(exc: BaseException, limit: int | None = None) -> str:
    """The first line of ``exc``'s message (its type's name when it has none), at most
    ``limit`` characters: what a one-line error quotes of a library's exception."""
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else type(exc).__name__
    return text[:limit] if limit is not None else text
