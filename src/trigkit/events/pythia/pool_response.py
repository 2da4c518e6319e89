"""The detector response of each pileup-pool event, computed once and reused per overlay.

A pool event is overlaid many times (mu x hard events / pool size: 60 times per 2 000 hard
events at mu = 60, pool 2 000), each time at its own vertex z and rotated in phi by a whole
number of towers (2 pi / 72, :data:`far.N_ROT`). The detector is symmetric under both moves:
the material layers are cylinders with no z extent, tower eta comes from the momentum (not
the vertex), and tracks move rigidly (z0 by the vertex z, perigee and phi by the rotation).
So, once per pool event at z = 0 without rotation:

- offline-calorimeter tower deposits (:func:`calo.tower_deposits`: the particles that are not
  charged tracks above 0.5 GeV in |eta| < 2.5, summed per tower; the charged ones are removed
  by charged-hadron subtraction, since a vertex using this response lies more than
  ``far.NEAR_DZ_MM`` from the primary one, beyond ``calo.CHS_DZ_MM``) -- exact;
- L1 tower ET before the tower threshold (:func:`l1.tower_deposits`) -- exact;
- the L1 MET pileup-mitigation thresholds (:func:`l1_pum.calibrate`, pileup-only overlays of
  these deposits);
- Phase-2 L1 tracks (:func:`l1tracks.real_l1_tracks`, z0 absolute) -- the same draws reused;
- reconstructed tracks (efficiency, smearing, conversions, nuclear interactions:
  :func:`tracking.real_tracks`) and their counters -- the same random draws for every overlay
  of that pool event: the one approximation.

Only vertices farther than ``far.NEAR_DZ_MM`` from the event's primary vertex use it; near
vertices (every vertex whose primary tracks can pass the jet-track cut |z0| < 3 mm, or survive
charged-hadron subtraction) go through the per-particle detector with fresh draws, like the
hard scatter. Far-vertex tracks feed the event's fakes (2 % of all tracks) and merged-track
search, and reach jets only through rare displaced secondaries and conversions.
"""

from __future__ import annotations

import numpy as np

from trigkit.events.pythia import calo, l1, l1_pum, l1tracks, tracking
from trigkit.events.pythia.far import N_ROT, Deposits, PoolResponse

_SEED = 0x504F4F4C % 2**31  # the response's own random stream: a function of the pool alone
assert calo.N_PHI == N_ROT and l1.N_PHI == N_ROT


def compute(parts: np.ndarray, offsets: np.ndarray) -> PoolResponse:
    """The response of the pool events ``parts`` (n, 9) record columns, ``offsets``."""
    p11 = np.zeros((len(parts), 11))
    p11[:, :9] = parts
    p11[:, calo.P_PU] = 1.0
    off = np.ascontiguousarray(offsets, dtype=np.int64)
    trk, toff, stats = tracking.real_tracks(p11, off, np.zeros(len(off) - 1), _SEED)
    trk[:, tracking.K_PART] = -1.0
    l1trk, l1toff = l1tracks.real_l1_tracks(p11, off, _SEED + 1)
    l1trk[:, tracking.K_PART] = -1.0
    l1dep = Deposits(*l1.tower_deposits(p11, off))
    return PoolResponse(
        trk,
        toff,
        stats,
        Deposits(*calo.tower_deposits(p11, off)),
        l1dep,
        l1trk,
        l1toff,
        l1_pum.calibrate(l1dep),
    )
