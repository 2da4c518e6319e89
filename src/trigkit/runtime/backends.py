"""Registry of runtime backends (`Runner` factories), filled by the backend modules (GPU work)."""

from __future__ import annotations

from typing import Any

from trigkit.registry import Registry

RUNNERS: Registry[Any] = Registry("runtime backend")
