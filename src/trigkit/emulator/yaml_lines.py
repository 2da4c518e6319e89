"""Load YAML while remembering the line of every mapping key and sequence item.

A validation error in a menu then names the line of the offending key, not just its path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from trigkit.core.errors import TrigkitError

Loc = tuple[str | int, ...]


def _walk(node: yaml.Node, loc: Loc, lines: dict[Loc, int], source: str) -> Any:
    lines.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node)
            child = (*loc, key)
            line = key_node.start_mark.line + 1
            if key in out:
                # YAML would silently keep the last one: a copy-pasted path would
                # vanish from the menu
                where = ".".join(str(p) for p in loc) or "the menu"
                raise TrigkitError(
                    f"{source} line {line}: duplicate key '{key}' in {where} "
                    f"(first defined at line {lines[child]})"
                )
            lines[child] = line
            out[key] = _walk(value_node, child, lines, source)
        return out
    if isinstance(node, yaml.SequenceNode):
        items = []
        for i, item in enumerate(node.value):
            child = (*loc, i)
            lines[child] = item.start_mark.line + 1
            items.append(_walk(item, child, lines, source))
        return items
    return _scalar(node)


def _scalar(node: yaml.Node) -> Any:
    """Construct one scalar with the safe loader's type resolution (int, float, bool, null)."""
    if not isinstance(node, yaml.ScalarNode):
        return yaml.safe_load(yaml.serialize(node))
    return _LOADER.construct_object(node, deep=True)


_LOADER = yaml.SafeLoader("")


def load_with_lines(text: str, source: str) -> tuple[Any, dict[Loc, int]]:
    """Parse ``text``; return (data, {key path: 1-based line})."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise TrigkitError(f"{source}{where}: not valid YAML: {problem}") from None
    if node is None:
        raise TrigkitError(f"{source}: empty menu file")
    lines: dict[Loc, int] = {}
    data = _walk(node, (), lines, source)
    return data, lines


def line_of(lines: dict[Loc, int], loc: Loc) -> int | None:
    """The line of ``loc`` or of its nearest ancestor present in the file."""
    for n in range(len(loc), -1, -1):
        if loc[:n] in lines:
            return lines[loc[:n]]
    return None


def read_text(path: str | Path) -> str:
    p = Path(path)
    try:
        return p.read_text()
    except OSError as exc:
        raise TrigkitError(f"{p}: cannot read menu ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise TrigkitError(f"{p}: not a text (UTF-8) YAML menu file") from None
