"""`events validate` rows of V+jets samples: the Z->bb large-R jet mass peak (the Xbb
calibration candle) and Pythia's inclusive W and Z cross sections against CMS at 13.6 TeV.

The Z->bb jets of a zjets sample are its large-R jets with pT > 200 GeV and two b hadrons
inside (with ``--z-decay bb`` the only b pairs besides rare g->bb in the recoil). Their msd
median must sit where the H->bb row's range sits, scaled by m_Z / m_H, and the relative width
of their mass peak (:func:`core_width`) must match the H->bb jets' of the same pT.

A zjets/wjets sample's own sigma has a pT-hat cut, which no measurement quotes; the rows
compare instead the same Pythia without a cut (``events.pythia.xsec``, LO) with the measured
total sigma x BR. LO lies below the NNLO-accurate measurement by the K-factor; the W/Z ratio,
where K-factors largely cancel, is compared tightly.
"""

from __future__ import annotations

import functools

import awkward as ak
import numpy as np

from trigkit.core.errors import MissingDependency
from trigkit.events.batch import EventBatch
from trigkit.report.event_validation import (
    HBB_MSD_RANGE,
    Row,
    _na,
    _row,
    fat_jets_weighted,
    median_row,
    weighted_quantiles,
)

M_Z, M_H = 91.19, 125.2
ZBB_PT_MIN = 200.0
MIN_JETS = 10
CORE_HALF_WIDTH = 0.3  # fraction of the peak position
CORE_ITERATIONS = 5
WIDTH_RATIO_RANGE = (0.67, 1.5)
REF_ZBB = (
    "Z->bb large-R jets peak at m_Z: CMS PRL 120 (2018) 071802 (AK8 msd), ATLAS PLB 812 "
    "(2021) 135991 (jet pT > 200); range: the H->bb row's x m_Z/m_H"
)
REF_ZBB_WIDTH = (
    "the H->bb row's jets (pT > 200), same detector: equal relative msd resolution within 1.5x "
    "(core: +-30 % of the peak)"
)
# CMS, arXiv:2503.09742 (SMP-22-017), 13.6 TeV, total sigma x BR (muons), nb: value and the
# quadrature sum of syst, lumi and acceptance (the symmetrised larger side)
CMS_Z_MUMU_NB = (2.021, float(np.hypot(np.hypot(0.009, 0.028), 0.013)))
CMS_WP_NB, CMS_WM_NB = 11.93, 8.86
CMS_W_MUNU_NB = (
    CMS_WP_NB + CMS_WM_NB,
    float(np.sqrt((0.08 + 0.06) ** 2 + (0.17 + 0.12) ** 2 + (0.07 + 0.06) ** 2)),
)
# the ratio: luminosity cancels, syst and acceptance do not (taken uncorrelated)
CMS_W_OVER_Z = CMS_W_MUNU_NB[0] / CMS_Z_MUMU_NB[0]
CMS_W_OVER_Z_REL_ERR = float(
    np.hypot(np.hypot(0.14, 0.13) / CMS_W_MUNU_NB[0], np.hypot(0.009, 0.013) / CMS_Z_MUMU_NB[0])
)
LO_OVER_MEASURED = (0.6, 1.0)  # LO, no K-factor: below the measurement (K from 1 to 1.67)
W_OVER_Z_TOLERANCE = 0.08  # LO PDFs, no K-factor: the ratio within 8 %
REF_SIGMA = (
    "CMS arXiv:2503.09742 (13.6 TeV): sigma x BR(Z->mumu, 60-120 GeV) 2.021 nb, "
    "W+ 11.93 nb, W- 8.86 nb; Pythia LO, no K-factor (expected 0.6-1)"
)
REF_W_OVER_Z = (
    "CMS arXiv:2503.09742 (13.6 TeV): sigma(W+-)B / sigma(Z)B = 10.29; Pythia LO, "
    "K-factors cancel: within 8 %"
)


def vjets_rows(batches: list[EventBatch]) -> list[Row]:
    rows: list[Row] = []
    hbb = _hbb_jets(batches)
    for b in batches:
        if b.process == "zjets" and b.fatjets is not None:
            rows += zbb_rows(b, hbb)
    if any(b.process in ("zjets", "wjets") for b in batches):
        rows += sigma_rows()
    return rows


def zbb_jets(b: EventBatch) -> ak.Array:
    """Large-R jets with pT > 200 GeV and two b hadrons inside (|eta| < 2.4 by construction)."""
    fat = ak.flatten(b.fatjets)
    return fat[zbb_mask(fat)]


def zbb_mask(fat: ak.Array) -> np.ndarray:
    """Which of the (flat) large-R jets ``fat`` are :func:`zbb_jets`."""
    return ak.to_numpy((fat.pt > ZBB_PT_MIN) & (fat.n_b_hadrons >= 2))


def core_width(msd: np.ndarray, w: np.ndarray | None = None) -> float:
    """Relative width of the mass peak: std / mean of the jets within +-30 % of the peak,
    the peak re-centred on their mean ``CORE_ITERATIONS`` times (from the median). The
    low-mass tail (one b groomed away, more often for a spin-1 Z than for the spin-0 H) stays
    out, so Z and H compare by resolution alone. With event weights ``w`` (a pT-hat-biased
    sample): the weighted median, means and std."""
    w = np.ones(len(msd)) if w is None else np.asarray(w, dtype=np.float64)
    equal = len(w) == 0 or bool(np.all(w == w[0]))
    centre = float(np.median(msd)) if equal else weighted_quantiles(msd, w, (0.5,))[0]
    core = np.ones(len(msd), dtype=bool)
    for _ in range(CORE_ITERATIONS):
        core = np.abs(msd - centre) < CORE_HALF_WIDTH * centre
        centre = float(np.average(msd[core], weights=w[core]))
    var = float(np.average((msd[core] - centre) ** 2, weights=w[core]))
    return float(np.sqrt(var) / centre)


def zbb_msd_range() -> tuple[float, float]:
    """The H->bb median range scaled by m_Z / m_H (GeV, one decimal)."""
    lo, hi = (round(x * M_Z / M_H, 1) for x in HBB_MSD_RANGE)
    return lo, hi


def zbb_rows(b: EventBatch, hbb: tuple[np.ndarray, np.ndarray] | None) -> list[Row]:
    """The Z->bb msd median and core width / H->bb's (``hbb``: the H->bb jets' msd and
    weights), both with the jets' event weights."""
    name = f"Z->bb (pT>{ZBB_PT_MIN:g}, 2 b hadrons)"
    if "n_b_hadrons" not in ak.fields(b.fatjets):
        return []
    fat, w = fat_jets_weighted(b)
    keep = zbb_mask(fat)
    msd = ak.to_numpy(fat.msd).astype(np.float64)[keep]
    ref = zbb_msd_range()
    if len(msd) < MIN_JETS:
        why = f"{len(msd)} jets, need {MIN_JETS}"
        return [_na(f"{name} msd median [GeV]", b.process, ref, REF_ZBB, why)]
    rows = [median_row(f"{name} msd median [GeV]", b.process, msd, ref, REF_ZBB, w[keep])]
    text = f"{name} msd core width / H->bb's"
    if hbb is None or len(hbb[0]) < MIN_JETS:
        rows.append(_na(text, b.process, WIDTH_RATIO_RANGE, REF_ZBB_WIDTH, "no H->bb sample"))
    else:
        ratio = core_width(msd, w[keep]) / core_width(*hbb)
        rows.append(_row(text, b.process, ratio, WIDTH_RATIO_RANGE, REF_ZBB_WIDTH))
    return rows


def _hbb_jets(batches: list[EventBatch]) -> tuple[np.ndarray, np.ndarray] | None:
    """(msd, event weight) of the H->bb large-R jets (label 1, pT > 200 GeV) of the hh4b /
    xhh samples."""
    msd, weights = [], []
    for b in batches:
        if b.process in ("hh4b", "xhh") and b.fatjets is not None:
            fat, w = fat_jets_weighted(b)
            keep = ak.to_numpy((fat.label == 1) & (fat.pt > ZBB_PT_MIN))
            msd.append(ak.to_numpy(fat.msd)[keep])
            weights.append(w[keep])
    if not msd:
        return None
    return np.concatenate(msd).astype(np.float64), np.concatenate(weights)


@functools.lru_cache(maxsize=1)
def _pythia_sigmas() -> tuple[tuple[float, float], tuple[float, float]]:
    """Pythia's LO (sigma, error) of Z -> mumu and W -> munu, nb (computed once)."""
    from trigkit.events.pythia.xsec import inclusive_sigma

    z, w = inclusive_sigma("z_mumu"), inclusive_sigma("w_munu")
    return (z.pb / 1e3, z.err_pb / 1e3), (w.pb / 1e3, w.err_pb / 1e3)


def sigma_rows() -> list[Row]:
    """Pythia LO / measured for Z and W, and the W/Z ratio against the measured one."""
    texts = (
        "sigma(Z->mumu) Pythia LO / CMS",
        "sigma(W->munu) Pythia LO / CMS",
        "sigma(W)/sigma(Z) Pythia LO",
    )
    lo, hi = (CMS_W_OVER_Z * (1 + s * W_OVER_Z_TOLERANCE) for s in (-1, 1))
    w_over_z_ref = (round(lo, 2), round(hi, 2))
    sample = "pythia inclusive"
    try:
        z, w = _pythia_sigmas()
    except MissingDependency:
        why = "pythia8mc not installed: pip install 'trigkit[physics]'"
        return [
            _na(texts[0], sample, LO_OVER_MEASURED, REF_SIGMA, why),
            _na(texts[1], sample, LO_OVER_MEASURED, REF_SIGMA, why),
            _na(texts[2], sample, w_over_z_ref, REF_W_OVER_Z, why),
        ]
    rows = []
    for text, py, meas in ((texts[0], z, CMS_Z_MUMU_NB), (texts[1], w, CMS_W_MUNU_NB)):
        rows.append(_ratio_row(text, sample, py, meas, LO_OVER_MEASURED, REF_SIGMA))
    py_ratio = (w[0] / z[0], w[0] / z[0] * float(np.hypot(w[1] / w[0], z[1] / z[0])))
    measured = (1.0, CMS_W_OVER_Z_REL_ERR)  # the value itself, its error into the interval
    rows.append(_ratio_row(texts[2], sample, py_ratio, measured, w_over_z_ref, REF_W_OVER_Z))
    return rows


def _ratio_row(
    text: str,
    sample: str,
    num: tuple[float, float],
    den: tuple[float, float],
    ref: tuple[float, float],
    reference: str,
) -> Row:
    """num / den with a 68 % interval from both relative errors in quadrature."""
    r = num[0] / den[0]
    err = r * float(np.hypot(num[1] / num[0], den[1] / den[0]))
    return _row(text, sample, r, ref, reference, lo=r - err, hi=r + err)
