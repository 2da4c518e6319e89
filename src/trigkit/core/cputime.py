"""CPU seconds of this process and its finished children (Pythia workers, hls4ml's g++): what
a shared box does not inflate, beside the wall time of the same work."""

from __future__ import annotations

import os


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and of its children that have finished."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system
