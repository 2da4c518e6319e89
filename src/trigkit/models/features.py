"""Per-object feature extraction: `EventBatch` -> :class:`FeatureSet` (raw, unscaled features).

Four feature kinds, one per tagger family (a model name maps to its kind through
:mod:`trigkit.models.registry`):

``tracks`` (b-tagging, classes b / c / light from ``hadron_flavour`` 5 / 4 / 0; jets with
unknown flavour are skipped). Input ``tracks`` [n_jets, max_tracks, 6] and ``mask``
[n_jets, max_tracks] (bool, True = real track). Tracks keep the file's order (decreasing
|d0_sig|), so truncation keeps the most significant ones. Per track:
    d0_sig, z0_sig    lifetime-signed impact-parameter significances
    log_pt_frac       log(track pt / jet pt)
    deta, dphi        track minus jet axis
    d0                lifetime-signed transverse impact parameter (mm)

``constituents`` (Xbb, classes hbb / qcd: class 0 is fatjet ``label == 1``). Input
``constituents`` [n_fatjets, max_constituents, 6] and ``mask``. Per constituent:
log_pt_frac, deta, dphi, dr, d0_sig, charge.

``l1jets`` (L1 tagger, classes b / c / uds / gluon / pileup: pileup if ``is_pileup``, else b/c
from ``hadron_flavour``, else gluon if ``parton_flavour == 21``, else uds). Input ``jets``
[n_jets, 16] of quantities an L1 correlator has per jet (see :data:`L1_FEATURES`), computed on
the events' **L1 jets and their Phase-2 L1 tracks** (``batch.l1jets`` with ``tracks``, the
Pythia engine: rows point into ``l1jets``, ``FeatureSet.objects == "l1jets"``). Events without
L1 tracks (NanoAOD, the fast engine, older files) fall back to the offline jets and offline
tracks (``objects == "jets"``), as before; the two are never mixed in one set.

``l1tracks`` (tiny L1 DeepSets): the ``tracks`` inputs (at most 8 tracks) with the ``l1jets``
classes, from the same objects as ``l1jets``.

``nanojets`` (jet-level b-tagger on NanoAOD-like jets, classes b / c / light). Input ``jets``
[n_jets, 4]: log_pt, abs_eta, mass_over_pt and the jet's stored b-tag score
(``btag_deepflav``, or ``btag`` when that is what the reader provides).

Class 0 is always the signal class (b, H->bb); ``KindSpec.background_classes`` are the classes
whose rejection is quoted (light jets; uds + gluon for the L1 tagger; QCD for Xbb).
"""

from __future__ import annotations

from trigkit.core.errors import TrigkitError
from trigkit.events.batch import EventBatch
from trigkit.models._extractors import EXTRACTORS
from trigkit.models.feature_set import FeatureSet, check_finite
from trigkit.models.kinds import KINDS, KindSpec
from trigkit.models.registry import get_spec


def kind_of(name: str) -> KindSpec:
    """Feature kind of a kind name or a registered model name."""
    if name in KINDS:
        return KINDS[name]
    return KINDS[get_spec(name).kind]


def extract(name: str, batch: EventBatch, *, max_objects: int | None = None) -> FeatureSet:
    """Features for model ``name`` (or feature kind) from ``batch``."""
    spec = kind_of(name)
    n_max = max_objects if max_objects is not None else spec.default_max_objects
    if spec.is_sequence and n_max < 1:
        raise TrigkitError(f"max_objects must be >= 1 for {spec.kind} features, got {n_max}")
    fs = EXTRACTORS[spec.kind](batch, spec, n_max)
    check_finite(fs)
    return fs
