"""Keep numba from importing other packages' numba extensions in trigkit's own processes.

At its first compile or cache load numba imports every installed ``numba_extensions`` entry
point. Today that is ``vector`` (which imports sympy, 0.5-0.6 CPU-s per process, measured) and
``awkward.numba`` (0.1 CPU-s). trigkit's kernels take numpy arrays and never vector objects, so
a process that runs trigkit code alone -- the ``trigkit`` command, a generator worker -- skips
them all and registers awkward's extension itself, so an awkward array handed to a numba
function still works there. A user's own process (trigkit used as a library) is left alone.
"""

from __future__ import annotations


def skip() -> bool:
    """Mark numba's extension entry points as loaded and register awkward's, if numba has not
    loaded them yet; True if this call skipped them. A numba without the ``entrypoints`` switch
    is left alone."""
    try:
        from numba.core import entrypoints
    except ImportError:
        return False
    if getattr(entrypoints, "_already_initialized", None) is not False:
        return False
    entrypoints._already_initialized = True
    try:
        import awkward.numba
    except ImportError:
        return True
    awkward.numba.register_and_check()
    return True
