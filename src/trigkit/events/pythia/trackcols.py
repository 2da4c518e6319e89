"""Columns of the reconstructed-track table (one row per track, float64) and track origins."""

from __future__ import annotations

K_PT, K_ETA, K_PHI, K_X, K_Y, K_Z0, K_SD0, K_SZ0, K_FAKE, K_PART = range(10)
K_ORIGIN, K_Q, K_RPROD = 10, 11, 12  # origin code, charge, production radius (mm)
N_K = 13

# K_ORIGIN codes
PRIMARY, FAKE, CONVERSION, NUCLEAR = 0, 1, 2, 3
