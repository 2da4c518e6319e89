"""trigkit.emulator: trigger-menu emulation (L1 + HLT) on EventBatches.

Flow: :mod:`schema` (Menu from YAML) -> :mod:`compiled` (flat opcode/threshold arrays) ->
:mod:`columns` (flat buffers of the events) -> :mod:`fused` (one numba pass for all triggers,
built on the per-primitive :mod:`kernels`) -> :mod:`stages` (prescales, L1 -> HLT) ->
:mod:`result` (efficiencies, rates, overlaps) + :mod:`budget` (latency budget).
:mod:`scores` says where tagger scores come from; :mod:`pipeline` / :mod:`distributed` run files
(single process or dask); :mod:`nanoaod` compares with recorded trigger bits; :mod:`api` is the
library form of ``trigkit emulate``. :mod:`vectorised` (awkward) and :mod:`reference`
(pure Python) are independent implementations used by tests and ``trigkit bench emulator``.

Importing this package imports nothing heavy; numba/awkward load with the submodules.
"""
