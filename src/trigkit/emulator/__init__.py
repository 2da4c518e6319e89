"""trigkit.emulator: trigger-menu emulation (L1 + HLT) on EventBatches.

Flow: :mod:`schema` (Menu from YAML) -> :mod:`compiled` (flat opcode/threshold arrays) ->
:mod:`columns` (flat buffers of the events) -> :mod:`fused` (``run_fused``: the :mod:`onepass`
kernel, generated per menu by :mod:`onepass_codegen` from :mod:`onepass_plan`, reads each event's
jets once; ``run_perpath``, the opcode pass over the per-primitive :mod:`kernels`, is kept as a
reference) -> :mod:`stages` (prescales, L1 -> HLT) ->
:mod:`result` (efficiencies, rates, overlaps) + :mod:`budget` (latency budget).
:mod:`scores` says where tagger scores come from (:mod:`taggers`: GPU / FPGA bundles); :mod:`pipeline` / :mod:`distributed` run files
(single process or dask); :mod:`nanoaod` compares with recorded trigger bits; :mod:`api` is the
library form of ``trigkit emulate``. :mod:`vectorised` (awkward) and :mod:`reference`
(pure Python) are independent implementations used by tests and ``trigkit bench emulator``.

Importing this package imports nothing heavy; numba/awkward load with the submodules.
"""
