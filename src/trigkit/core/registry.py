"""Name -> backend registries (``runtime.backends``, ``compile.targets``).

A backend registers a small factory plus an availability probe; the heavy library is imported
only when the factory runs, so listing backends never imports TensorRT or hls4ml.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from trigkit.core.errors import TrigkitError

T = TypeVar("T")


@dataclass(frozen=True)
class Entry(Generic[T]):
    name: str
    factory: Callable[..., T]
    probe: Callable[[], tuple[bool, str]]
    summary: str


class Registry(Generic[T]):
    """An ordered mapping of backend names to factories."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Entry[T]] = {}

    def register(
        self,
        name: str,
        factory: Callable[..., T],
        probe: Callable[[], tuple[bool, str]],
        summary: str,
    ) -> None:
        if name in self._entries:
            raise ValueError(f"{self.kind} '{name}' registered twice")
        self._entries[name] = Entry(name, factory, probe, summary)

    def names(self) -> list[str]:
        return list(self._entries)

    def entry(self, name: str) -> Entry[T]:
        try:
            return self._entries[name]
        except KeyError:
            valid = ", ".join(self._entries) or "(none registered)"
            raise TrigkitError(f"unknown {self.kind} '{name}'; valid: {valid}") from None

    def create(self, name: str, *args: object, **kwargs: object) -> T:
        return self.entry(name).factory(*args, **kwargs)

    def status(self) -> list[tuple[str, bool, str, str]]:
        """(name, available, reason, summary) for every registered backend."""
        rows = []
        for e in self._entries.values():
            ok, why = e.probe()
            rows.append((e.name, ok, why, e.summary))
        return rows
