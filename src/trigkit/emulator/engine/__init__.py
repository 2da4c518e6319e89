"""The two engines of one menu semantics, both driven by the cut registry
(:mod:`trigkit.emulator.cuts`):

* :mod:`~trigkit.emulator.engine.onepass` (production): a numba kernel generated per menu
  (:mod:`~trigkit.emulator.engine.plan` -> :mod:`~trigkit.emulator.engine.codegen`) that reads
  each event's jets once; where the host has AVX-512 and a C compiler, the same plan runs as a
  C kernel with one event per SIMD lane (:mod:`~trigkit.emulator.engine.lanes_c` ->
  :mod:`~trigkit.emulator.engine.cbackend`; ~2x faster on one thread, the same decisions),
  the numba kernel being its fallback and its test reference;
* :mod:`~trigkit.emulator.engine.reference`: every cut's columnar reference evaluation, trigger
  by trigger (awkward; slow, independent of jet ordering), which tests and
  ``trigkit bench emulator`` compare the kernel with.

Both return raw decisions, bool (n_events, n_l1 + n_hlt), in
:attr:`~trigkit.emulator.compiled.CompiledMenu.trigger_names` order; HLT columns include their
(unprescaled) L1 seed requirement. Importing this package imports neither engine.
"""
