"""Several samples of one process as one sample: their events, weights stitched in pT-hat.

Each Pythia sample's weights sum to sigma x L over its own pT-hat range, pT-hat above its
generation threshold ``m_i`` (read off the sample as its lowest ``truth.pthat``). A QCD sample
from 15 GeV and a slice from 250 GeV both estimate the cross section above 250 GeV, so pooling
them as they are would count that region twice. The thresholds cut pT-hat into regions
``[m_(k), m_(k+1))``; every sample that reaches a region covers all of it, with the same shape
inside it (the pT-hat bias is the same power law in every sample). In each region an event of
sample ``i`` gets its weight times ``n_i / n``, the sample's share of the region's events: the
region's sum of weights stays one estimate of sigma x L, and the better-filled sample counts
more. Samples of one configuration (one threshold) are so pooled by their event counts.

Samples without ``truth.pthat`` (the toy engine) count as covering every pT-hat.
"""

from __future__ import annotations

from dataclasses import replace

import awkward as ak
import numpy as np

from trigkit.core.errors import TrigkitError
from trigkit.events.batch import EventBatch


def stitch(batches: list[EventBatch]) -> EventBatch:
    """One sample of the process of ``batches`` (one process, one luminosity)."""
    if not batches:
        raise ValueError("stitch needs at least one sample")
    if len(batches) == 1:
        return batches[0]
    _check_alike(batches)
    pthat = [event_pthat(b) for b in batches]
    edges = np.unique([p.min() if len(p) else np.inf for p in pthat])
    regions = [np.searchsorted(edges, p, side="right") - 1 for p in pthat]
    counts = np.array([np.bincount(r, minlength=len(edges)) for r in regions], dtype=float)
    share = counts / np.maximum(counts.sum(axis=0), 1.0)
    weight = np.concatenate(
        [b.weight * share[i, r] for i, (b, r) in enumerate(zip(batches, regions, strict=True))]
    )
    merged = EventBatch.concatenate(batches)
    return replace(merged, weight=weight, source=" + ".join(b.source for b in batches))


def event_pthat(batch: EventBatch) -> np.ndarray:
    """Per-event pT-hat (GeV, float64); zeros when the sample does not record it."""
    if "pthat" not in ak.fields(batch.truth):
        return np.zeros(len(batch))
    return np.nan_to_num(ak.to_numpy(batch.truth.pthat).astype(np.float64), nan=0.0)


def _check_alike(batches: list[EventBatch]) -> None:
    first = batches[0]
    for b in batches[1:]:
        if b.process != first.process:
            raise TrigkitError(
                f"{b.source or '?'}: process {b.process!r}, but {first.source or '?'} is "
                f"{first.process!r}; only samples of one process are stitched"
            )
        if not np.isclose(b.lumi_pb, first.lumi_pb):
            raise TrigkitError(
                f"{b.source or '?'}: lumi {b.lumi_pb:g} pb^-1, but {first.source or '?'} has "
                f"{first.lumi_pb:g}; samples of one process need one luminosity to be stitched"
            )
