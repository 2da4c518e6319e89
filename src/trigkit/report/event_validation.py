"""`events validate`: compare a sample with published references, one row per quantity.

Each :class:`Row` names its reference and the range read from it; ``status`` says whether the
sample's value lies inside. Ranges read off published figures are approximate by nature and
are wide on purpose: the table catches a sample that is unphysical, not a 5 % mis-tune.
Rejections carry a 68 % Clopper-Pearson interval on the background count and are quoted only
where at least ``MIN_BKG_PASS`` background jets pass; rates carry the weighted-count error.
Per-jet track rows are weighted by the event weights (a pT-hat-biased QCD sample holds its
high-pT-hat events far more often than they occur).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import awkward as ak
import numpy as np

from trigkit.events.batch import EventBatch

MIN_BKG_PASS = 100
MIN_TRACK_JETS = 20  # effective (weighted) jets a tracks/jet or S(d0) row needs
B_EFF = 0.70
LUMI_2E34_PB_PER_S = 0.02  # 2e34 cm^-2 s^-1 = 0.02 pb^-1 / s
HBB_MSD_RANGE = (105.0, 135.0)  # GeV, H->bb large-R soft-drop mass median

REF_MHH = "2 mH = 250.4 GeV threshold; SM LO mHH peaks near 400 GeV (LHC HH WG, arXiv:1910.00012)"
REF_JETSUB = "CMS, boosted jet identification, JINST 15 (2020) P06005 (msd, tau21, tau32)"
REF_IP = "CMS b-tagging, JINST 13 (2018) P05011, Fig. 6 (S(d0) by flavour), read off the figure"
REF_IP3D = "ATLAS IP3D, EPJC 79 (2019) 970; target of trigkit issue #16: light 8-150, c 2-8"
REF_NTRK = "ATLAS charged multiplicity in jets, EPJC 76 (2016) 322 (scaled to pT > 1 GeV, eff 0.9)"
REF_L1 = "CMS Run-3 L1 menu at 2e34 (CMS-DP-2023-050): few kHz; target within 2x"


@dataclass(frozen=True)
class Row:
    quantity: str
    sample: str
    value: float
    lo: float  # 68 % interval (NaN where not applicable)
    hi: float
    ref_lo: float
    ref_hi: float
    reference: str
    status: str  # "ok", "outside", "n/a (...)"

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _row(q: str, s: str, v: float, ref: tuple[float, float], text: str, lo=np.nan, hi=np.nan):
    status = "ok" if ref[0] <= v <= ref[1] else "outside"
    return Row(q, s, float(v), float(lo), float(hi), ref[0], ref[1], text, status)


def _na(q: str, s: str, ref: tuple[float, float], text: str, why: str) -> Row:
    return Row(q, s, np.nan, np.nan, np.nan, ref[0], ref[1], text, f"n/a ({why})")


def validate(batches: list[EventBatch]) -> list[Row]:
    """Rows for every quantity the given samples can show; several samples of one process
    (e.g. inclusive QCD and a pT-hat slice) are one sample, stitched in pT-hat
    (:func:`trigkit.events.stitch.stitch`)."""
    from trigkit.events.stitch import stitch

    groups: dict[str, list[EventBatch]] = {}
    for b in batches:
        groups.setdefault(b.process, []).append(b)
    batches = [stitch(g) for g in groups.values()]
    rows: list[Row] = []
    for b in batches:
        if b.process in ("hh4b", "xhh"):
            rows += _mhh_rows(b)
        if b.fatjets is not None:
            rows += _fatjet_rows(b)
        rows += _track_rows(b)
        if b.process == "qcd" and b.l1jets is not None:
            rows += _l1_rows(b)
    rows += _ip3d_rows(batches)
    from trigkit.report.event_validation_l1 import l1_rows
    from trigkit.report.event_validation_phys import physics_rows
    from trigkit.report.event_validation_vjets import vjets_rows

    return rows + physics_rows(batches) + l1_rows(batches) + vjets_rows(batches)


def _mhh_rows(b: EventBatch) -> list[Row]:
    m = ak.to_numpy(b.truth.mhh).astype(np.float64)
    m = m[np.isfinite(m)]
    if len(m) == 0:
        return [_na("mHH min [GeV]", b.process, (250.0, 350.0), REF_MHH, "no Higgs pairs")]
    return [
        _row("mHH min [GeV]", b.process, m.min(), (250.0, 350.0), REF_MHH),
        _row("mHH median [GeV]", b.process, np.median(m), (350.0, 550.0), REF_MHH),
    ]


MIN_MEDIAN_JETS = 20  # fewer jets: a median row says n/a (too few for its interval to mean much)


def _fatjet_rows(b: EventBatch) -> list[Row]:
    fat, w = fat_jets_weighted(b)
    rows: list[Row] = []

    def median(q: str, sel: ak.Array | np.ndarray, x: str, ref: tuple[float, float]) -> Row:
        keep = ak.to_numpy(sel)
        return median_row(q, b.process, ak.to_numpy(fat[x])[keep], ref, REF_JETSUB, w[keep])

    if b.process in ("hh4b", "xhh"):
        rows.append(median("H->bb msd median [GeV]", fat.label == 1, "msd", HBB_MSD_RANGE))
        rows.append(median("H->bb tau21 median", fat.label == 1, "tau21", (0.2, 0.55)))
    if b.process == "qcd":
        every = np.ones(len(fat), dtype=bool)
        rows.append(median("QCD large-R tau21 median", every, "tau21", (0.45, 0.8)))
    if b.process == "ttbar" and "tau32" in ak.fields(fat):
        rows.append(median("top (pT>400) msd median [GeV]", fat.pt > 400, "msd", (120, 195)))
        rows.append(median("top (pT>400) tau32 median", fat.pt > 400, "tau32", (0.4, 0.75)))
    return rows


def fat_jets_weighted(b: EventBatch) -> tuple[ak.Array, np.ndarray]:
    """Every large-R jet of ``b`` (flat) and its event's weight."""
    return flat_weighted(b, b.fatjets)


def flat_weighted(b: EventBatch, objects: ak.Array) -> tuple[ak.Array, np.ndarray]:
    """``objects`` (one list per event of ``b``) flattened, with each one's event weight."""
    w = ak.to_numpy(ak.flatten(ak.broadcast_arrays(b.weight, objects.pt)[0]))
    return ak.flatten(objects), w.astype(np.float64)


def median_row(
    q: str,
    s: str,
    x: np.ndarray,
    ref: tuple[float, float],
    text: str,
    w: np.ndarray | None = None,
) -> Row:
    """The median of ``x`` with its distribution-free 68 % interval (order statistics), or
    n/a below ``MIN_MEDIAN_JETS`` jets. With weights ``w`` that differ (a pT-hat-biased
    sample), the weighted median, its interval the weighted quantiles at the same ranks of the
    effective count, and n/a below ``MIN_MEDIAN_JETS`` effective jets."""
    x = np.asarray(x, dtype=np.float64)
    if w is None or len(w) == 0 or np.all(w == w[0]):
        v = np.sort(x)
        if len(v) < MIN_MEDIAN_JETS:
            return _na(q, s, ref, text, f"{len(v)} jets, need {MIN_MEDIAN_JETS}")
        lo, hi = median_interval(len(v))
        return _row(q, s, float(np.median(v)), ref, text, lo=v[lo], hi=v[hi])
    n = n_effective(w)
    if n < MIN_MEDIAN_JETS:
        why = f"{len(x)} jets count as {n:.0f}, need {MIN_MEDIAN_JETS}"
        return _na(q, s, ref, text, why)
    k = int(n)
    lo, hi = median_interval(k)
    q_lo, q_mid, q_hi = (lo + 0.5) / k, 0.5, (hi + 0.5) / k
    v_lo, v_mid, v_hi = weighted_quantiles(x, w, (q_lo, q_mid, q_hi))
    return _row(q, s, v_mid, ref, text, lo=v_lo, hi=v_hi)


def weighted_quantiles(x: np.ndarray, w: np.ndarray, qs: tuple[float, ...]) -> list[float]:
    """The smallest value of ``x`` whose cumulative weight reaches each fraction of ``qs``."""
    order = np.argsort(x, kind="stable")
    cum = np.cumsum(w[order]) / w.sum()
    return [float(x[order][min(int(np.searchsorted(cum, q)), len(x) - 1)]) for q in qs]


def median_interval(n: int, cl: float = 0.6827) -> tuple[int, int]:
    """0-based ranks (lo, hi) of the symmetric order statistics bracketing the median of ``n``
    values with at least ``cl`` coverage (the count below the median is Binomial(n, 1/2));
    (0, n - 1) when even those cover less."""
    k = np.arange(n + 1)
    logp = np.array([math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) for i in k])
    cdf = np.cumsum(np.exp(logp - n * math.log(2.0)))
    r = max(1, int(np.searchsorted(cdf, (1.0 - cl) / 2, side="right")))  # P(B <= r - 1) <= tail
    return r - 1, n - r


def _central(b: EventBatch) -> tuple[ak.Array, np.ndarray]:
    """Hard-scatter jets in |eta| < 2.4 and their events' weights."""
    jets, w = flat_weighted(b, b.jets)
    keep = ak.to_numpy((abs(jets.eta) < 2.4) & ~jets.is_pileup)
    return jets[keep], w[keep]


def n_effective(w: np.ndarray) -> float:
    """(sum w)^2 / sum w^2: the unweighted count with the same statistical power."""
    return float(w.sum() ** 2 / (w * w).sum()) if len(w) and (w * w).sum() > 0 else 0.0


def _track_rows(b: EventBatch) -> list[Row]:
    """Per-jet means and fractions weighted by the event weights, so a pT-hat-biased QCD
    sample counts its jets as often as they occur; quoted where the weighted jets count as
    at least ``MIN_TRACK_JETS`` (effective number)."""
    jets, w = _central(b)
    pt = ak.to_numpy(jets.pt)
    rows = []
    for lo, hi, ref in (
        (30, 50, (2.5, 9.0)),
        (50, 100, (3.5, 12.0)),
        (100, 200, (5.0, 16.0)),
        (200, 400, (6.0, 18.0)),
    ):
        sel = (pt >= lo) & (pt < hi)
        if n_effective(w[sel]) >= MIN_TRACK_JETS:
            n = np.average(ak.to_numpy(ak.num(jets[sel].tracks)), weights=w[sel])
            rows.append(_row(f"tracks/jet, pT {lo}-{hi} GeV", b.process, n, ref, REF_NTRK))
    flav = ak.to_numpy(jets.hadron_flavour)
    two = ak.to_numpy(ak.sum(jets.tracks.d0_sig > 3, axis=1) >= 2)
    for f, name, ref in (
        (5, "b", (0.35, 0.85)),
        (4, "c", (0.1, 0.5)),
        (0, "light", (0.01, 0.15)),
    ):
        sel = (pt > 30) & (flav == f)
        n_eff = n_effective(w[sel])
        if n_eff >= MIN_TRACK_JETS:
            frac = float(np.average(two[sel], weights=w[sel]))
            lo, hi = weighted_fraction_interval(frac, n_eff)
            text = f"{name} jets with 2 tracks S(d0)>3"
            rows.append(_row(text, b.process, frac, ref, REF_IP, lo=lo, hi=hi))
    return rows


def weighted_fraction_interval(frac: float, n_eff: float) -> tuple[float, float]:
    """68 % Clopper-Pearson interval of a weighted fraction, on the effective counts
    (k = frac x n_eff of n_eff)."""
    from trigkit.emulator.result import clopper_pearson

    lo, hi = clopper_pearson(frac * n_eff, n_eff, 0.68)
    return float(lo), float(hi)


def _tagging_jets(b: EventBatch):  # noqa: ANN202 - a FeatureSet
    """Track features of hard-scatter jets with pT > 20 GeV, |eta| < 2.5 (the b-tagging
    phase space of the references)."""
    from trigkit.models.features import extract

    fs = extract("tracks", b)
    pu = ak.to_numpy(ak.flatten(b.jets.is_pileup))
    is_pu = pu[fs.flat_index(b, "jets")] if len(pu) else np.zeros(len(fs), bool)
    keep = (fs.aux["pt"] > 20) & (np.abs(fs.aux["eta"]) < 2.5) & ~is_pu
    return fs.select(keep)


def _ip3d_rows(batches: list[EventBatch]) -> list[Row]:
    """IP3D templates fitted on even events, rejection measured on odd events; the jets of
    all samples pooled, each jet weighted by its event's weight over the sample's mean weight
    (each process counts by its events, each event as often as it occurs in its process)."""
    from trigkit.models.baselines import fit_ip3d
    from trigkit.models.feature_set import FeatureSet

    sets = []
    for b in batches:
        fs = _tagging_jets(b) if len(b) > 1 else None
        if fs is not None and len(fs):
            sets.append(replace(fs, weights=fs.weights / float(np.mean(b.weight))))
    q = {
        "light": ("IP3D light rejection @70% b", (8.0, 150.0)),
        "c": ("IP3D c rejection @70% b", (2.0, 8.0)),
    }
    if not sets:
        return [_na(v[0], "all", v[1], REF_IP3D, "no jets") for v in q.values()]
    fs = FeatureSet.concatenate(sets)
    even = fs.event_index % 2 == 0
    has = [np.any(fs.labels[even] == c) and np.any(fs.labels[~even] == c) for c in (0, 1, 2)]
    if not (has[0] and has[2]):
        return [_na(v[0], "all", v[1], REF_IP3D, "needs b and light jets") for v in q.values()]
    test = fs.select(~even)
    score = fit_ip3d(fs.select(even)).score(test)
    b_jet = test.labels == 0
    cut = weighted_quantiles(score[b_jet], test.weights[b_jet], (1.0 - B_EFF,))[0]
    rows = []
    for cls, name in ((2, "light"), (1, "c")):
        text, ref = q[name]
        bkg = test.labels == cls
        passed, w = score[bkg] >= cut, test.weights[bkg]
        rows.append(weighted_rejection(text, "all", ref, REF_IP3D, passed, w))
    return rows


def weighted_rejection(
    text: str,
    sample: str,
    ref: tuple[float, float],
    reference: str,
    passed: np.ndarray,
    w: np.ndarray,
) -> Row:
    """Rejection sum(w) / sum(w passing), quoted where >= MIN_BKG_PASS jets pass, with a 68 %
    Clopper-Pearson interval on the effective counts (n_eff = (sum w)^2 / sum w^2)."""
    k = int(passed.sum())
    if k < MIN_BKG_PASS:
        why = f"{k} of {len(w)} background jets pass, need {MIN_BKG_PASS}"
        return _na(text, sample, ref, reference, why)
    eff = float(w[passed].sum() / w.sum())
    e_lo, e_hi = weighted_fraction_interval(eff, n_effective(w))
    return _row(text, sample, 1.0 / eff, ref, reference, lo=1.0 / e_hi, hi=1.0 / e_lo)


def _l1_rows(b: EventBatch) -> list[Row]:
    from trigkit.events.pythia.l1 import l1_ht

    lead = ak.to_numpy(ak.fill_none(ak.max(b.l1jets.pt, axis=1), 0.0))
    rows = []
    for text, passed, ref in (
        ("L1 HTT280er rate [kHz]", l1_ht(b.l1jets) > 280.0, (1.0, 12.0)),
        ("L1 SingleJet180 rate [kHz]", lead > 180.0, (1.0, 12.0)),
    ):
        rate, err = l1_rate_khz(b, passed)
        rows.append(_row(text, b.process, rate, ref, REF_L1, lo=rate - err, hi=rate + err))
    return rows


def l1_rate_khz(b: EventBatch, passed: np.ndarray) -> tuple[float, float]:
    """Rate at 2e34 (kHz) of the events ``passed`` and its error from the weights."""
    w = b.weight[passed] / b.lumi_pb * LUMI_2E34_PB_PER_S / 1e3
    return float(w.sum()), float(np.sqrt((w * w).sum()))
