"""Fixtures: hand-built tiny events and a seeded synthetic sample (independent of the generator)."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

from trigkit.events.batch import EventBatch


def make_batch(
    jets: list[list[dict]],
    fatjets: list[list[dict]] | None = None,
    *,
    weight=None,
    mhh=None,
    process: str = "test",
    lumi_pb: float = 1.0,
) -> EventBatch:
    n = len(jets)
    truth = ak.zip(
        {
            "mhh": np.asarray(mhh if mhh is not None else np.full(n, 400.0), dtype=np.float64),
            "h1_pt": np.zeros(n),
            "h2_pt": np.zeros(n),
        }
    )
    return EventBatch(
        jets=ak.Array(jets),
        weight=np.ones(n) if weight is None else np.asarray(weight, dtype=np.float64),
        truth=truth,
        fatjets=None if fatjets is None else ak.Array(fatjets),
        process=process,
        lumi_pb=lumi_pb,
        source="test",
    )


def synthetic_batch(
    n: int, seed: int, *, signal: bool = False, lumi_pb: float = 10.0, with_tracks: bool = False
) -> EventBatch:
    """Random multijet-like events: falling jet pt spectrum (pt-ordered), |eta| < 3, b-tag-like
    scores, fatjets with msd / tau21 / xbb. Scores take coarse values so that ties and exact
    threshold hits occur."""
    rng = np.random.default_rng(seed)
    njet = rng.poisson(6.0 if signal else 4.5, n)
    tot = int(njet.sum())
    scale = 60.0 if signal else 35.0
    pt = (20.0 + rng.exponential(scale, tot)).astype(np.float32)
    # exact-threshold values sometimes
    hit = rng.random(tot) < 0.05
    pt[hit] = rng.choice(np.array([30.0, 35.0, 40.0, 50.0, 55.0, 70.0], np.float32), hit.sum())
    jets_pt = ak.unflatten(pt, njet)
    jets_pt = ak.sort(jets_pt, axis=1, ascending=False)
    flat_pt = ak.to_numpy(ak.flatten(jets_pt))
    eta = rng.uniform(-3.0, 3.0, tot).astype(np.float32)
    eta[rng.random(tot) < 0.03] = np.float32(2.5)
    bfrac = 0.5 if signal else 0.1
    isb = rng.random(tot) < bfrac
    btag = np.where(isb, rng.beta(5, 1.5, tot), rng.beta(1, 6, tot))
    btag = (np.round(btag * 40) / 40).astype(np.float32)  # coarse: ties + exact WPs
    l1 = (np.round(np.clip(btag + rng.normal(0, 0.1, tot), 0, 1) * 64) / 64).astype(np.float32)
    fields = {
        "pt": flat_pt,
        "eta": eta,
        "phi": rng.uniform(-np.pi, np.pi, tot).astype(np.float32),
        "mass": (flat_pt * 0.1).astype(np.float32),
        "btag": btag,
        "l1_score": l1,
        "btag_deepflav": (np.round(np.clip(btag + rng.normal(0, 0.2, tot), 0, 1) * 40) / 40).astype(
            np.float32
        ),
    }
    contents = {k: ak.unflatten(v, njet) for k, v in fields.items()}
    if with_tracks:
        ntrk = rng.poisson(4, tot)
        d0 = rng.normal(0, 2, int(ntrk.sum())) + np.repeat(np.where(isb, 4.0, 0.0), ntrk)
        contents["tracks"] = ak.unflatten(
            ak.unflatten(ak.zip({"d0_sig": d0.astype(np.float32)}), ntrk), njet
        )
    jets = ak.zip(contents, depth_limit=2)
    nfat = rng.poisson(1.2 if signal else 0.6, n)
    ft = int(nfat.sum())
    fpt = ak.sort(
        ak.unflatten((180 + rng.exponential(120, ft)).astype(np.float32), nfat),
        axis=1,
        ascending=False,
    )
    msd = rng.uniform(0, 200, ft).astype(np.float32)
    fat = ak.zip(
        {
            "pt": fpt,
            "eta": ak.unflatten(rng.uniform(-2.7, 2.7, ft).astype(np.float32), nfat),
            "msd": ak.unflatten(msd, nfat),
            "tau21": ak.unflatten(rng.uniform(0.1, 1.0, ft).astype(np.float32), nfat),
            "xbb": ak.unflatten((np.round(rng.random(ft) * 20) / 20).astype(np.float32), nfat),
        }
    )
    mhh = rng.uniform(260, 1000, n) if signal else np.full(n, np.nan)
    truth = ak.zip({"mhh": mhh, "h1_pt": np.zeros(n), "h2_pt": np.zeros(n)})
    w = rng.uniform(0.5, 2.0, n) * (1.0 if signal else 1e3)
    return EventBatch(
        jets=jets,
        weight=w,
        truth=truth,
        fatjets=fat,
        process="hh4b" if signal else "qcd",
        lumi_pb=lumi_pb,
        source=f"synthetic(seed={seed})",
    )


@pytest.fixture(scope="session")
def sig_batch() -> EventBatch:
    return synthetic_batch(3000, 1, signal=True)


@pytest.fixture(scope="session")
def bkg_batch() -> EventBatch:
    return synthetic_batch(4000, 2)
