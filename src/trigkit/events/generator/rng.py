"""Counter-based random streams for numba kernels.

Every event (and every kernel pass over it) owns an independent SplitMix64 stream whose start
state is a hash of ``(seed, process, pass, global event index)``. Output therefore depends only on
the seed and the event's index -- not on chunk size, thread count or the order kernels run in.

The state lives in a one-element ``uint64`` array so helpers can advance it in place.
All helpers are plain ``@njit`` functions (run them un-jitted with ``NUMBA_DISABLE_JIT=1``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from trigkit.events.generator._cache import sync_numba_cache

sync_numba_cache()  # rng is imported first by every kernel module

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_INV53 = 1.0 / 9007199254740992.0


@njit(cache=True)
def mix64(z: np.uint64) -> np.uint64:
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(cache=True)
def stream_key(seed: int, process_id: int, pass_id: int) -> np.uint64:
    """A 64-bit key for one (seed, process, kernel pass) combination."""
    k = mix64(np.uint64(seed) + _GOLDEN)
    k = mix64(k ^ (np.uint64(process_id) * _M1 + np.uint64(pass_id) * _M2))
    return k


@njit(cache=True)
def stream(key: np.uint64, index: int) -> np.ndarray:
    """Fresh state array for event ``index`` under ``key``."""
    st = np.empty(1, dtype=np.uint64)
    st[0] = mix64(key ^ mix64(np.uint64(index) + _GOLDEN))
    return st


@njit(cache=True)
def next_u64(st: np.ndarray) -> np.uint64:
    st[0] += _GOLDEN
    return mix64(st[0])


@njit(cache=True)
def uniform(st: np.ndarray) -> float:
    """Uniform in (0, 1): never exactly 0, so log(u) is safe."""
    return (np.float64(next_u64(st) >> _S11) + 0.5) * _INV53


@njit(cache=True)
def normal(st: np.ndarray) -> float:
    """Standard normal (Box-Muller, one of the pair)."""
    u1 = uniform(st)
    u2 = uniform(st)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


@njit(cache=True)
def exponential(st: np.ndarray) -> float:
    return -np.log(uniform(st))


@njit(cache=True)
def poisson(st: np.ndarray, lam: float) -> int:
    """Poisson count (Knuth's product method; fine for lam < ~30)."""
    if lam <= 0.0:
        return 0
    if lam > 30.0:
        return max(0, int(np.floor(lam + np.sqrt(lam) * normal(st) + 0.5)))
    limit = np.exp(-lam)
    k = 0
    p = uniform(st)
    while p > limit:
        k += 1
        p *= uniform(st)
    return k


@njit(cache=True)
def gamma(st: np.ndarray, shape: float) -> float:
    """Gamma(shape, 1) by Marsaglia-Tsang (boosted for shape < 1)."""
    if shape < 1.0:
        return gamma(st, shape + 1.0) * uniform(st) ** (1.0 / shape)
    d = shape - 1.0 / 3.0
    c = 1.0 / np.sqrt(9.0 * d)
    while True:
        x = normal(st)
        v = 1.0 + c * x
        if v <= 0.0:
            continue
        v = v * v * v
        u = uniform(st)
        if np.log(u) < 0.5 * x * x + d - d * v + d * np.log(v):
            return d * v


@njit(cache=True)
def beta(st: np.ndarray, a: float, b: float) -> float:
    x = gamma(st, a)
    y = gamma(st, b)
    return x / (x + y)


@njit(cache=True)
def choice_index(st: np.ndarray, cumulative: np.ndarray) -> int:
    """Index drawn from a cumulative probability table (last entry 1)."""
    u = uniform(st)
    for i in range(cumulative.shape[0]):
        if u < cumulative[i]:
            return i
    return cumulative.shape[0] - 1
