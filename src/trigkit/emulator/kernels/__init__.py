"""One numba kernel per trigger primitive, each a per-event function over flat buffers.

Every kernel reads one event's objects as the index range ``[j0, j1)`` of flat value arrays (the
awkward arrays' content buffers, ``j0, j1 = offsets[e], offsets[e + 1]``) and returns whether the
cut passes (or the quantity it cuts on). Every value is converted with ``float()`` before it is
compared or summed, so comparisons and sums are float64 both compiled and as plain Python.

The kernels are ``numba.njit`` functions; ``kernel.py_func`` is the same code as plain Python
(what ``NUMBA_DISABLE_JIT=1`` runs), which the tests use as a JIT-free reference.
The fused menu pass (:mod:`trigkit.emulator.fused`) calls them all in one loop over events.

Jets are ordered by decreasing pt (the :class:`~trigkit.events.batch.EventBatch` contract); the
jet kernels use that to stop early once a jet falls below the pt threshold.
"""

from trigkit.emulator.kernels.fatjet import fatjet_pass
from trigkit.emulator.kernels.ht import ht_sum
from trigkit.emulator.kernels.jet_count import jets_pass
from trigkit.emulator.kernels.score_count import score_count
from trigkit.emulator.kernels.score_top import score_top_sum

__all__ = ["fatjet_pass", "ht_sum", "jets_pass", "score_count", "score_top_sum"]
