"""trigkit.emulator: trigger-menu emulation (L1 + HLT) on EventBatches.

Flow: :mod:`schema` (Menu from YAML; its cut keys are the cut types of :mod:`cuts`, one file
each: schema model, plan entry, codegen, reference evaluation) -> :mod:`compiled` (the trigger
table) -> :mod:`columns` (flat buffers of the events) -> :mod:`engine` (``run_onepass``: the
kernel generated per menu, reading each event's jets once; ``run_reference``: every cut's
awkward reference evaluation, for tests and ``trigkit bench emulator``) -> :mod:`stages`
(prescales, L1 -> HLT) -> :mod:`result` (efficiencies, rates, overlaps) + :mod:`budget` (latency
budget). :mod:`scores` says where tagger scores come from (:mod:`taggers`: GPU / FPGA bundles);
:mod:`pipeline` / :mod:`distributed` run files (single process or dask); :mod:`nanoaod` compares
with recorded trigger bits; :mod:`api` is the library form of ``trigkit emulate``.

Importing this package imports nothing heavy; numba/awkward load with the submodules.
"""
