"""Random :class:`FirmwareNetwork`s on their fixed-point grids, for tests and benchmarks."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from trigkit.fixedpoint.fixed import FixedType
from trigkit.fixedpoint.network import FirmwareLayer, FirmwareNetwork, SoftmaxSpec


def on_grid(
    rng: np.random.Generator, shape: tuple[int, ...], t: FixedType, scale: float
) -> np.ndarray:
    """Values ~ N(0, scale) rounded and clipped onto the grid of ``t``."""
    codes = np.rint(rng.normal(0.0, scale, size=shape) / t.lsb)
    codes = np.clip(codes, t.min_code, t.max_code)
    return codes * t.lsb


def random_network(
    sizes: Sequence[int] = (16, 64, 32, 32, 5),
    *,
    seed: int = 0,
    input_t: FixedType = FixedType(16, 6, True, "AP_RND", "AP_SAT"),
    weight_t: FixedType = FixedType(8, 2),
    bias_t: FixedType = FixedType(8, 3),
    accum_t: FixedType = FixedType(24, 10),
    act_t: FixedType = FixedType(12, 5, True, "AP_RND", "AP_SAT"),
    logit_t: FixedType = FixedType(16, 6),
    softmax: SoftmaxSpec | None = SoftmaxSpec(),
    softmax_out_t: FixedType = FixedType(16, 2, False, "AP_RND", "AP_SAT"),
    sparsity: float = 0.0,
    strategy: str = "Latency",
    backend: str = "Vitis",
) -> FirmwareNetwork:
    """An MLP ``dense(-relu)*-dense[-softmax]`` with random on-grid weights."""
    rng = np.random.default_rng(seed)
    layers: list[FirmwareLayer] = []
    for k, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        last = k == len(sizes) - 2
        w = on_grid(rng, (n_out, n_in), weight_t, 1.0 / np.sqrt(n_in))
        if sparsity > 0:
            w[rng.random(w.shape) < sparsity] = 0.0
        b = on_grid(rng, (n_out,), bias_t, 0.5)
        layers.append(
            FirmwareLayer(
                f"fc{k + 1}",
                "dense",
                n_in,
                n_out,
                logit_t if last else accum_t,
                weight=w,
                bias=b,
                weight_t=weight_t,
                bias_t=bias_t,
                accum_t=accum_t,
            )
        )
        if not last:
            layers.append(FirmwareLayer(f"relu{k + 1}", "relu", n_out, n_out, act_t))
    if softmax is not None:
        layers.append(
            FirmwareLayer(
                "softmax", "softmax", sizes[-1], sizes[-1], softmax_out_t, softmax=softmax
            )
        )
    return FirmwareNetwork(
        name="random_mlp",
        input_t=input_t,
        input_names=tuple(f"x{i}" for i in range(sizes[0])),
        layers=tuple(layers),
        strategy=strategy,  # type: ignore[arg-type]
        backend=backend,  # type: ignore[arg-type]
    )


def edge_inputs(network: FirmwareNetwork, n: int, seed: int = 0) -> np.ndarray:
    """Inputs mixing random values, representable extremes, saturating values, NaN and +-Inf."""
    rng = np.random.default_rng(seed)
    t = network.input_t
    m = network.n_inputs
    choices = np.array(
        [
            t.min,
            t.max,
            t.min - t.lsb,
            t.max + t.lsb,
            2 * t.min,
            4 * t.max,
            0.0,
            t.lsb,
            -t.lsb,
            t.lsb / 2,
            -t.lsb / 2,
            1e30,
            -1e30,
            np.nan,
            -np.nan,
            np.inf,
            -np.inf,
        ]
    )
    x = rng.normal(0.0, max(1.0, t.max / 4), size=(n, m))
    mask = rng.random((n, m)) < 0.25
    x[mask] = rng.choice(choices, size=int(mask.sum()))
    return x
