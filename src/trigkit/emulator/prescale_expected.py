"""``--prescale-mode expected``: per-event probabilities of surviving the prescales.

The counters in :mod:`trigkit.emulator.stages` keep every N-th firing event, as the hardware does;
on weighted MC (pT-hat binned QCD, weights spanning orders of magnitude) which events they keep is
arbitrary, so prescaled rates are noisy and biased. Rate tools (ATLAS RatesAnalysis, the CMS rate
estimators) weight each event by the probability that it survives instead. Here, from the
unprescaled bits ``f`` of :class:`~trigkit.emulator.stages.Decisions`:

* L1 seed s: ``p_s = f_s / PS_s`` (PS 0, disabled: 0; PS 1: exactly ``f_s``).
* L1 OR, and the seed chain of an HLT path: ``1 - prod_s (1 - p_s)`` over all seeds (L1 OR) or the
  path's seeds; an unseeded path's chain is the L1 OR.
* HLT path i: ``p_i = f_i x P(chain kept) / PS_i``; the HLT OR: ``1 - prod_i (1 - p_i)``.

Prescalers are treated as independent: exact for every single seed / path, and for ORs, pure
rates and overlaps as long as no L1 seed with PS > 1 is shared between HLT paths (a PS 1 seed is
deterministic); otherwise those combinations are the usual independence approximation.
With every prescale 1 all probabilities are exactly 0 or 1 and every number equals the counter
mode's bit for bit. :mod:`trigkit.emulator.result` consumes these arrays in place of the 0/1 bits.
"""

from __future__ import annotations

import numpy as np

from trigkit.emulator.stages import Decisions

PRESCALE_MODES = ("counter", "expected")


def keep_probability(fired: np.ndarray, prescale: int) -> np.ndarray:
    """``fired / prescale`` as float64 (0 everywhere for a disabled prescale of 0)."""
    f = np.asarray(fired, dtype=np.float64)
    return np.zeros_like(f) if prescale == 0 else f / prescale


def any_probability(p: np.ndarray) -> np.ndarray:
    """P(at least one of independent columns fires): ``1 - prod(1 - p)`` along axis 1."""
    p = np.asarray(p, dtype=np.float64)
    if p.shape[1] == 0:
        return np.zeros(p.shape[0])
    return 1.0 - np.prod(1.0 - p, axis=1)


def l1_probabilities(d: Decisions) -> np.ndarray:
    """(n, n_l1) probability that each seed fires after its prescale."""
    _require(d)
    cols = [keep_probability(d.l1_raw[:, i], ps) for i, ps in enumerate(d.l1_prescale)]
    return np.stack(cols, axis=1) if cols else np.zeros((len(d.l1_raw), 0))


def hlt_probabilities(d: Decisions, l1p: np.ndarray | None = None) -> np.ndarray:
    """(n, n_hlt) probability that each HLT path accepts (seed chain x HLT prescale)."""
    _require(d)
    l1p = l1_probabilities(d) if l1p is None else l1p
    assert d.hlt_raw is not None
    l1_or = any_probability(l1p)
    out = np.zeros(d.hlt_raw.shape, dtype=np.float64)
    for i, (refs, ps) in enumerate(zip(d.hlt_seeds, d.hlt_prescale, strict=True)):
        chain = any_probability(l1p[:, list(refs)]) if refs else l1_or
        out[:, i] = keep_probability(d.hlt_raw[:, i], ps) * chain
    return out


def path_probabilities(d: Decisions) -> dict[str, np.ndarray]:
    """Same keys and order as the counter mode's masks: HLT paths, L1 seeds, "L1 OR", "OR"."""
    l1p = l1_probabilities(d)
    hltp = hlt_probabilities(d, l1p)
    out = {name: hltp[:, i] for i, name in enumerate(d.hlt_names)}
    out.update({name: l1p[:, i] for i, name in enumerate(d.l1_names)})
    out["L1 OR"] = any_probability(l1p)
    out["OR"] = any_probability(hltp)
    return out


def pure_probabilities(p: np.ndarray) -> np.ndarray:
    """(n, k): P(column i fires and no other does) = ``p_i prod_{j != i} (1 - p_j)``."""
    out = np.empty_like(p, dtype=np.float64)
    for i in range(p.shape[1]):
        out[:, i] = p[:, i] * np.prod(1.0 - np.delete(p, i, axis=1), axis=1)
    return out


def shared_probabilities(p: np.ndarray) -> np.ndarray:
    """(n, k): E[X_i / N] with N the number of columns firing: each event's accept split equally
    among the paths that take it, averaged over the prescale outcomes.

    ``E[X_i / N] = p_i E[1 / (1 + S)]``, S the others' count, and ``E[1 / (1 + S)]`` is the integral
    over t in [0, 1] of ``prod_{j != i} (1 - p_j + p_j t)``, a polynomial of degree k - 1
    integrated exactly by ceil(k / 2)-point Gauss-Legendre. Rows where every p is 0 or 1 use
    ``1 / N`` directly (bit-identical to the counter mode)."""
    det = np.all((p == 0.0) | (p == 1.0), axis=1)
    n_fired = np.where(det, p.sum(axis=1), 1.0)
    out = p * (1.0 / np.maximum(n_fired, 1.0))[:, None]
    rows = np.flatnonzero(~det)
    for start in range(0, len(rows), _CHUNK):
        r = rows[start : start + _CHUNK]
        out[r] = p[r] * _mean_inverse_others(p[r])
    return out


def _mean_inverse_others(p: np.ndarray) -> np.ndarray:
    """(n, k): E[1 / (1 + S_{-i})] for independent Bernoulli columns, by Gauss-Legendre in t."""
    x, wq = np.polynomial.legendre.leggauss(max(1, (p.shape[1] + 1) // 2))
    t, wq = (x + 1.0) / 2.0, wq / 2.0
    factors = 1.0 - p[:, :, None] + p[:, :, None] * t  # (n, k, nodes), each >= t > 0
    full = np.prod(factors, axis=1)  # (n, nodes)
    return (full[:, None, :] / factors) @ wq


_CHUNK = 1 << 15


def _require(d: Decisions) -> None:
    if (
        d.hlt_raw is None
        or len(d.l1_prescale) != len(d.l1_names)
        or len(d.hlt_prescale) != len(d.hlt_names)
        or len(d.hlt_seeds) != len(d.hlt_names)
    ):
        raise ValueError(
            "Decisions lack the raw bits / prescales that --prescale-mode expected needs "
            "(build them with stages.apply_stages)"
        )
