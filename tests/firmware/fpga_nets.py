"""Small deterministic FirmwareNetworks for the estimate / RTL / report tests (no torch, no
hls4ml)."""

from __future__ import annotations

import numpy as np

from trigkit.fixedpoint.fixed import FixedType
from trigkit.fixedpoint.network import FirmwareLayer, FirmwareNetwork


def _on_grid(
    rng: np.random.Generator, shape: tuple[int, ...], t: FixedType, keep: float
) -> np.ndarray:
    codes = rng.integers(t.min_code, t.max_code + 1, size=shape)
    codes = np.where(rng.random(shape) < keep, codes, 0)
    return np.ldexp(codes.astype(np.float64), -t.frac)


def dense_relu_net(
    sizes: tuple[int, ...] = (4, 6, 3),
    bits: int = 6,
    seed: int = 0,
    keep: float = 0.8,
    softmax: bool = False,
    reuse_factor: int = 1,
) -> FirmwareNetwork:
    """``sizes[0] -> ... -> sizes[-1]`` dense layers with ReLU between them (``bits``-bit weights
    and activations, exact accumulators), optionally a trailing softmax."""
    rng = np.random.default_rng(seed)
    in_t = FixedType(bits + 4, 5)
    w_t = FixedType(bits, 1)
    b_t = FixedType(bits + 2, 3)
    act_t = FixedType(bits, 3, signed=False, rounding="AP_TRN", overflow="AP_SAT")
    layers: list[FirmwareLayer] = []
    prev_t = in_t
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        last = i == len(sizes) - 2
        acc_frac = prev_t.frac + w_t.frac
        acc_t = FixedType(acc_frac + 12, 12)
        dense_t = FixedType(bits + 6, 6, rounding="AP_RND", overflow="AP_SAT") if last else acc_t
        layers.append(
            FirmwareLayer(
                name=f"fc{i + 1}",
                kind="dense",
                n_in=n_in,
                n_out=n_out,
                result_t=dense_t,
                weight=_on_grid(rng, (n_out, n_in), w_t, keep),
                bias=_on_grid(rng, (n_out,), b_t, 1.0),
                weight_t=w_t,
                bias_t=b_t,
                accum_t=acc_t,
                reuse_factor=reuse_factor,
            )
        )
        prev_t = dense_t
        if not last:
            layers.append(FirmwareLayer(f"relu{i + 1}", "relu", n_out, n_out, act_t))
            prev_t = act_t
    if softmax:
        layers.append(
            FirmwareLayer(
                "softmax", "softmax", sizes[-1], sizes[-1], FixedType(16, 2, signed=False)
            )
        )
    return FirmwareNetwork(
        name="tiny",
        input_t=in_t,
        input_names=tuple(f"x{i}" for i in range(sizes[0])),
        layers=tuple(layers),
        clock_period_ns=5.0,
    )


def random_inputs(network: FirmwareNetwork, n: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = network.input_t
    x = rng.normal(scale=t.max / 3, size=(n, network.n_inputs))
    edges = np.array([t.max, t.min, 0.0, t.max + 1.0, t.min - 1.0, np.nan, np.inf, -np.inf])
    k = min(n, len(edges))
    x[:k] = edges[:k, None]  # extremes, saturating values, NaN and +-Inf
    return x
