"""The gg -> HH hard process Pythia lacks, written as Les Houches events for Pythia to shower.

mHH follows the toy generator's LO sampler (``events.generator.hh4b``: 2 mH + Gamma(2.6, 90 GeV),
threshold 250.4 GeV, mode ~394 GeV). A kappa_lambda != 1 reweights that shape with the LO
heavy-top-limit amplitude (Plehn, Spira, Zerwas, Nucl. Phys. B479 (1996) 46):
``|M|^2 ~ |kl * 3 mH^2 / (mHH^2 - mH^2) - 1|^2`` (triangle minus box), regulated by 0.05 near
the SM threshold zero, and samples it by inverse CDF on a 0.5 GeV grid (unit weights). The total
rate follows the LHC HH group's NNLO parametrisation, sigma(kl) / sigma(1) =
(70.3874 - 50.4111 kl + 11.0595 kl^2) / 31.0358 (13 TeV, CERN Yellow Report 4).
HH rapidity ~ N(0, 1.3), isotropic decay; H -> bb and all radiation are left to Pythia.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from trigkit.core.atomic import atomic_path

M_H = 125.2
MHH_SHAPE = 2.6  # same numbers as events.generator.hh4b (tested equal)
MHH_SCALE = 90.0
SIGMA_SM_PB = 34.43e-3  # gg -> HH at 13.6 TeV, NNLO FTapprox (before BR)
BR_BB = 0.5824
_REG = 0.05


def sigma_ratio(kappa_lambda: float) -> float:
    """sigma(gg->HH; kl) / sigma(SM), LHC HH WG parametrisation."""
    kl = kappa_lambda
    return (70.3874 - 50.4111 * kl + 11.0595 * kl * kl) / 31.0358


def sigma_4b_pb(kappa_lambda: float) -> float:
    """gg -> HH -> 4b cross-section (pb) at 13.6 TeV for the given kappa_lambda."""
    return SIGMA_SM_PB * sigma_ratio(kappa_lambda) * BR_BB**2


def mhh_density(m: np.ndarray, kappa_lambda: float) -> np.ndarray:
    """Unnormalised dsigma/dmHH on ``m`` (GeV) for kappa_lambda."""
    from scipy.stats import gamma

    base = gamma.pdf(m - 2 * M_H, MHH_SHAPE, scale=MHH_SCALE)
    if kappa_lambda == 1.0:
        return base
    r = 3 * M_H**2 / (m * m - M_H**2)
    return base * ((kappa_lambda * r - 1) ** 2 + _REG) / ((r - 1) ** 2 + _REG)


def sample_mhh(rng: np.random.Generator, n: int, kappa_lambda: float) -> np.ndarray:
    if kappa_lambda == 1.0:
        return 2 * M_H + MHH_SCALE * rng.gamma(MHH_SHAPE, size=n)
    grid = np.arange(2 * M_H, 3000.0, 0.5)
    cdf = np.cumsum(mhh_density(grid, kappa_lambda))
    return np.interp(rng.random(n) * cdf[-1], cdf, grid)


def hh_momenta(rng: np.random.Generator, mhh: np.ndarray, e_cm: float) -> np.ndarray:
    """(n, 4 particles g g H H, 4 = px py pz E) in the lab frame, HH at zero pT."""
    n = len(mhh)
    y = np.clip(rng.normal(0.0, 1.3, n), *_y_range(mhh, e_cm))
    cos_t = rng.uniform(-1, 1, n)
    phi = rng.uniform(0, 2 * np.pi, n)
    p = np.sqrt(np.maximum(mhh**2 / 4 - M_H**2, 0.0))
    sin_t = np.sqrt(1 - cos_t**2)
    e_h = mhh / 2
    pz_star = p * cos_t
    out = np.zeros((n, 4, 4))
    for k, sgn in ((2, 1.0), (3, -1.0)):
        out[:, k, 0] = sgn * p * sin_t * np.cos(phi)
        out[:, k, 1] = sgn * p * sin_t * np.sin(phi)
        out[:, k, 2] = np.cosh(y) * sgn * pz_star + np.sinh(y) * e_h
        out[:, k, 3] = np.cosh(y) * e_h + np.sinh(y) * sgn * pz_star
    x1 = mhh / e_cm * np.exp(y)
    x2 = mhh / e_cm * np.exp(-y)
    out[:, 0, 2] = out[:, 0, 3] = x1 * e_cm / 2
    out[:, 1, 2] = -x2 * e_cm / 2
    out[:, 1, 3] = x2 * e_cm / 2
    return out


def _y_range(mhh: np.ndarray, e_cm: float) -> tuple[np.ndarray, np.ndarray]:
    ymax = np.log(e_cm / mhh) - 1e-3
    return -ymax, ymax


def write_lhef(path: Path, n: int, seed: int, kappa_lambda: float, e_cm: float) -> np.ndarray:
    """Write ``n`` gg -> HH events to ``path`` atomically; return their mHH (GeV)."""
    rng = np.random.default_rng([seed, 0x4848])
    mhh = sample_mhh(rng, n, kappa_lambda)
    mom = hh_momenta(rng, mhh, e_cm)
    sigma = sigma_4b_pb(kappa_lambda)
    lines = [
        '<LesHouchesEvents version="1.0">',
        "<init>",
        f"2212 2212 {e_cm / 2:.6e} {e_cm / 2:.6e} 0 0 0 0 3 1",
        f"{sigma:.6e} 0.000000e+00 1.000000e+00 1",
        "</init>",
    ]
    colour = ((501, 502), (502, 501), (0, 0), (0, 0))
    for i in range(n):
        lines += ["<event>", f"4 1 {sigma:.6e} {mhh[i] / 2:.6e} 7.546771e-03 1.180000e-01"]
        for k in range(4):
            pid, status, mothers = (21, -1, "0 0") if k < 2 else (25, 1, "1 2")
            px, py, pz, e = mom[i, k]
            mass = 0.0 if k < 2 else M_H
            c1, c2 = colour[k]
            lines.append(
                f"{pid} {status} {mothers} {c1} {c2} {px:.9e} {py:.9e} {pz:.9e} {e:.9e} "
                f"{mass:.9e} 0 9"
            )
        lines.append("</event>")
    lines.append("</LesHouchesEvents>")
    with atomic_path(path, suffix=".lhe") as tmp:
        tmp.write_text("\n".join(lines) + "\n")
    return mhh
