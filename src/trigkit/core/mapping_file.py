"""Read a small user-written settings file (YAML, or JSON by its ``.json`` suffix)."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from trigkit.core.errors import TrigkitError


def read_mapping_file(path: Path, where: str) -> object:
    """The parsed content of ``path``; one TrigkitError line led by ``where`` if unreadable.

    Validation of the content is the caller's (:meth:`trigkit.core.validated.Validated.parse`).
    """
    try:
        text = Path(path).read_text()
        return json.loads(text) if Path(path).suffix.lower() == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise TrigkitError(f"{where}: cannot read ({str(exc).splitlines()[0]})") from None
