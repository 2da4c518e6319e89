"""Level-1 jets for NanoAOD files, which store no L1 jet collection.

What the file offers (branch titles as written in CMS NanoAOD, e.g. ``nano_dimuon.root``):

* ``TrigObj_id`` -- "ID of the object: ... 1 = Jet, 6 = FatJet, 2 = MET, 3 = HT, 4 = MHT".
* ``TrigObj_pt`` -- the HLT object's pt; ``TrigObj_l1pt`` -- "pt of associated L1 seed" (0 when
  no L1 object was associated).

So a ``TrigObj`` jet (id 1) with ``l1pt > 0`` names one real L1 jet: its pt is ``l1pt``, its
direction is the HLT jet's (the L1 eta/phi are not stored). Only HLT jets that some path's filter
kept are stored, so most L1 jets of an event are missing; they are derived from the offline
``Jet`` collection with the L1 response measured on the same file:

* pairs: each TrigObj jet with ``0 < l1pt < L1_JET_SATURATION`` matched to the nearest offline
  jet within ``MATCH_DR``; response = ``l1pt / offline pt``;
* per (offline pt, |eta|) bin the median response and its resolution (half the 16-84 % spread);
* sums: a TrigObj HT object (id 3) with ``0 < l1pt < L1_HTT_SATURATION`` gives the event's L1
  HTT; its ratio to the offline HT (jets with pt > ``HTT_JET_PT``, |eta| < ``HTT_ABS_ETA``, the
  L1 "er" HTT acceptance) is the response of the low-pt jets that dominate HT, which HLT jet
  filters rarely store. A jet bin with fewer than ``MIN_PAIRS`` pairs uses the median of these
  HT ratios (of the jet pairs when the file has no HT object);
* L1 jets = offline jets, pt times the response of their bin, except that an offline jet matched
  to a TrigObj jet takes that jet's ``l1pt`` (the recorded L1 value), pt-ordered; eta and phi are
  the offline jet's. A saturated L1 jet (``l1pt >= L1_JET_SATURATION``) measures no response but
  is still matched: the L1 saw a jet at or above saturation (and its HTT saturated, as the HT
  objects of ``nano_dimuon.root`` show), so it passes every jet threshold, and every HTT one
  inside the HTT acceptance, while its offline pt times a response would not. One L1 jet per
  offline jet: L1 jets without an offline jet are not added, and the response is measured and
  applied on the same file (in-sample).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import awkward as ak
import numpy as np

from trigkit.core.errors import TrigkitError
from trigkit.events.batch import EventBatch

TRIGOBJ_JET_ID = 1
MATCH_DR = 0.4
TRIGOBJ_HT_ID = 3
# GeV: L1 objects at or near saturation (jets 1023.5, sums 2047.5) measure no response
L1_JET_SATURATION = 1000.0
L1_HTT_SATURATION = 2000.0
# the L1 HTT sums calibrated L1 jets above 30 GeV with |ieta| <= 26, i.e. in the towers up to
# |eta| = 2.5 (HCAL tower 26 spans 2.322-2.500): etSumEtThreshold / etSumEtaMax of the HT sum in
# CMSSW's caloParams for 2018 and 2022 (L1Trigger/L1TCalorimeter). In nano_dimuon.root event 14
# a saturated L1 jet at offline |eta| 2.407 saturates the recorded HTT: it is inside.
HTT_JET_PT = 30.0
HTT_ABS_ETA = 2.5
MIN_PAIRS = 3
PT_EDGES = (0.0, 60.0, 150.0, np.inf)
ETA_EDGES = (0.0, 1.3, 2.5, np.inf)


@dataclass(frozen=True)
class L1Response:
    """L1 jet pt / offline jet pt measured on a file's matched TrigObj jets."""

    source: str
    pt_edges: tuple[float, ...]
    eta_edges: tuple[float, ...]
    median: np.ndarray  # (n_pt, n_eta); NaN where no pair
    resolution: np.ndarray  # (n_pt, n_eta) half the 16-84 % spread; NaN with < 2 pairs
    n_pairs: np.ndarray  # (n_pt, n_eta)
    overall: float  # median over all jet pairs
    overall_resolution: float
    ht_ratio: np.ndarray  # L1 HTT / offline HT per event with an unsaturated TrigObj HT object

    @property
    def fallback(self) -> float:
        """Response of jets in thin bins: median HT ratio, else median over all jet pairs."""
        return float(np.median(self.ht_ratio)) if len(self.ht_ratio) else self.overall

    @property
    def n_total(self) -> int:
        return int(self.n_pairs.sum())

    def factor(self, pt: np.ndarray, abs_eta: np.ndarray) -> np.ndarray:
        """Response for each jet: its bin's median, the overall one in thin bins."""
        i = _bin(pt, self.pt_edges)
        j = _bin(abs_eta, self.eta_edges)
        ok = self.n_pairs[i, j] >= MIN_PAIRS
        return np.where(ok, self.median[i, j], self.fallback)


def _bin(x: np.ndarray, edges: tuple[float, ...]) -> np.ndarray:
    return np.clip(np.searchsorted(np.asarray(edges), x, side="right") - 1, 0, len(edges) - 2)


def _spread(r: np.ndarray) -> float:
    if len(r) < 2:
        return float("nan")
    lo, hi = np.percentile(r, [16.0, 84.0])
    return float((hi - lo) / 2.0)


def _l1_trigobj(batch: EventBatch, saturated: bool = False) -> ak.Array:
    to = batch.trigobj
    if to is None or "l1pt" not in to.fields:
        raise TrigkitError(
            f"{batch.source or 'events'}: no TrigObj_l1pt branch; the L1 response is measured "
            "from TrigObj jets with their L1 pt (NanoAOD with TrigObj_id, TrigObj_l1pt)"
        )
    jets = to[to.id == TRIGOBJ_JET_ID]
    below = (jets.l1pt < L1_JET_SATURATION) | saturated
    return jets[(jets.l1pt > 0) & below]


def match_trigobj(batch: EventBatch, saturated: bool = False) -> tuple[ak.Array, ak.Array]:
    """For each offline jet: the ``l1pt`` of the nearest TrigObj L1 jet within ``MATCH_DR`` (0
    if none), and whether one matched; saturated L1 jets take part only with ``saturated``."""
    l1 = _l1_trigobj(batch, saturated)
    pairs = ak.cartesian([batch.jets, l1], axis=1, nested=True)
    off, to = ak.unzip(pairs)
    dphi = (off.phi - to.phi + np.pi) % (2 * np.pi) - np.pi
    dr = np.sqrt((off.eta - to.eta) ** 2 + dphi**2)
    nearest = ak.argmin(dr, axis=2, keepdims=True)
    best_dr = ak.fill_none(ak.firsts(dr[nearest], axis=2), np.inf)
    best_l1 = ak.fill_none(ak.firsts(to.l1pt[nearest], axis=2), 0.0)
    matched = best_dr < MATCH_DR
    return ak.where(matched, best_l1, 0.0), matched


def ht_ratios(batch: EventBatch) -> np.ndarray:
    """L1 HTT / offline HT for each event with one unsaturated TrigObj HT object (id 3)."""
    to = batch.trigobj
    if to is None or "l1pt" not in to.fields:
        return np.zeros(0)
    ht_obj = to[(to.id == TRIGOBJ_HT_ID) & (to.l1pt > 0) & (to.l1pt < L1_HTT_SATURATION)]
    one = ak.to_numpy(ak.num(ht_obj)) == 1
    l1htt = ak.to_numpy(ak.fill_none(ak.firsts(ht_obj.l1pt), 0.0)).astype(np.float64)
    j = batch.jets
    acc = (j.pt > HTT_JET_PT) & (abs(j.eta) < HTT_ABS_ETA)
    ht = ak.to_numpy(ak.sum(ak.where(acc, j.pt, 0.0), axis=1)).astype(np.float64)
    ok = one & (ht > 0)
    return l1htt[ok] / ht[ok]


def measure_l1_response(batches: list[EventBatch]) -> L1Response:
    """The L1 response over all ``batches`` (one file); TrigkitError without a matched pair."""
    pts, etas, ratios = [], [], []
    for b in batches:
        l1pt, matched = match_trigobj(b)
        pt = ak.to_numpy(ak.flatten(b.jets.pt[matched])).astype(np.float64)
        pts.append(pt)
        etas.append(np.abs(ak.to_numpy(ak.flatten(b.jets.eta[matched])).astype(np.float64)))
        ratios.append(ak.to_numpy(ak.flatten(l1pt[matched])).astype(np.float64) / pt)
    source = batches[0].source if batches else ""
    pt, eta, r = np.concatenate(pts), np.concatenate(etas), np.concatenate(ratios)
    if len(r) == 0:
        raise TrigkitError(
            f"{source or 'events'}: no TrigObj jet (id 1, 0 < l1pt < {L1_JET_SATURATION:g}) "
            f"within dR {MATCH_DR} of an offline jet; cannot measure the L1 response"
        )
    shape = (len(PT_EDGES) - 1, len(ETA_EDGES) - 1)
    median, res = np.full(shape, np.nan), np.full(shape, np.nan)
    n = np.zeros(shape, dtype=np.int64)
    i, j = _bin(pt, PT_EDGES), _bin(eta, ETA_EDGES)
    for a in range(shape[0]):
        for c in range(shape[1]):
            sel = r[(i == a) & (j == c)]
            n[a, c] = len(sel)
            if len(sel):
                median[a, c], res[a, c] = float(np.median(sel)), _spread(sel)
    ht = np.concatenate([ht_ratios(b) for b in batches])
    return L1Response(
        source, PT_EDGES, ETA_EDGES, median, res, n, float(np.median(r)), _spread(r), ht
    )


def with_derived_l1jets(batch: EventBatch, response: L1Response) -> EventBatch:
    """``batch`` with ``l1jets`` derived from its offline jets (module docstring)."""
    l1pt, matched = match_trigobj(batch, saturated=True)
    jets = batch.jets
    counts = ak.num(jets.pt)
    flat_pt = ak.to_numpy(ak.flatten(jets.pt)).astype(np.float64)
    flat_eta = np.abs(ak.to_numpy(ak.flatten(jets.eta)).astype(np.float64))
    scaled = ak.unflatten(flat_pt * response.factor(flat_pt, flat_eta), counts)
    pt = ak.values_astype(ak.where(matched, l1pt, scaled), np.float32)
    l1 = ak.zip({"pt": pt, "eta": jets.eta, "phi": jets.phi})
    l1 = l1[ak.argsort(l1.pt, axis=1, ascending=False, stable=True)]
    return replace(batch, l1jets=l1)
