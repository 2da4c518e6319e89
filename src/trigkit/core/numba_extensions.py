"""Keep numba from importing other packages' numba extensions in trigkit's own processes.

At its first compile or cache load numba imports every installed ``numba_extensions`` entry
point: today ``vector`` (which imports sympy) and ``awkward.numba``, about 0.7 CPU-s per process,
measured. trigkit's kernels take numpy arrays only (awkward arrays become numpy buffers before
any kernel: :mod:`trigkit.emulator.columns`, :mod:`trigkit.events.pythia.columns`), so a process
that runs trigkit code alone -- the ``trigkit`` command, a generator worker -- does not need
them. A user's own process (trigkit used as a library) is left as it is.
"""

from __future__ import annotations


def skip() -> bool:
    """Mark numba's extension entry points as loaded, if numba has not loaded them yet; True if
    this call skipped them. A numba without the ``entrypoints`` switch is left alone."""
    try:
        from numba.core import entrypoints
    except ImportError:
        return False
    if getattr(entrypoints, "_already_initialized", None) is not False:
        return False
    entrypoints._already_initialized = True
    return True
