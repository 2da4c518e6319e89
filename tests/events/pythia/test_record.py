"""The column reader (``nextBatch(1)`` buffers) against Pythia's per-particle API."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.mark.parametrize("process", ["xhh", "ttbar"])
def test_columns_equal_the_particle_api(process: str) -> None:
    pytest.importorskip("pythia8mc")
    from trigkit.events.pythia import block, record, settings
    from trigkit.events.pythia.config import PythiaConfig

    pythia = settings.build(settings.process_settings(PythiaConfig(process, 1, mu=0)), 3, "x")
    charges = block._Charges(pythia)
    seen_higgs = 0
    for _ in range(3):
        cols = block._next(pythia)
        assert len(cols.pid) == pythia.event.size()
        fast = record.read_arrays(cols, pythia.event, pythia.process, charges)
        ref = record.read(pythia.event, pythia.process)
        for field in ("parts", "hadrons", "partons", "higgs", "higgs_b"):
            np.testing.assert_array_equal(getattr(fast, field), getattr(ref, field), field)
        np.testing.assert_array_equal(fast.mhh, ref.mhh)
        assert len(fast.parts) > 50 and len(fast.hadrons) >= 1
        seen_higgs += len(fast.higgs)
        particles = pythia.event.particles()
        for i in range(3, len(particles)):  # the beams (1, 2) have no daughter list
            assert cols.daughters(i) == list(particles[i].daughterList())
    assert seen_higgs == (6 if process == "xhh" else 0)
