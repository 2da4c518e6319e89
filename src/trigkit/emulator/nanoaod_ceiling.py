"""Per HLT path of a menu on a NanoAOD batch: the disagreement decomposed and the ceilings of an
emulator that reads offline quantities only (:mod:`trigkit.emulator.agreement_ceiling`).

Features, all from :mod:`trigkit.emulator.margins` (L1 cuts on ``batch.l1jets`` where the batch
has them, else on the offline jets, as :func:`~trigkit.emulator.nanoaod.compare_to_recorded`):

* ``shift``: the minimum of the path's per-cut margins (one common threshold shift);
* ``jet+tag``: the minimum over the kinematic cuts (L1, ``jets``, ``ht``) and the minimum over
  the tag cuts: one jet-response scale and one tag working-point shift (1 column when the path
  has no tag cut);
* ``cuts``: every per-cut margin (any monotone response per cut);
* ``parts``: :func:`~trigkit.emulator.margins.path_features` (each seed, jet and top score).

For each: the in-sample best (``shift`` and ``jet+tag``: the best cuts; ``cuts`` and ``parts``:
the monotone ceiling) and its two-fold out-of-sample agreement (fit on the even events, decide
the odd ones, and conversely). The recorded bits are only compared with, never an input.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trigkit.core.errors import TrigkitError
from trigkit.emulator.agreement_ceiling import (
    Decomposition,
    box_ceiling,
    decompose,
    monotone_ceiling,
    monotone_two_fold,
    two_fold,
)
from trigkit.emulator.margins import path_features, path_margins
from trigkit.emulator.nanoaod import L1_JETS, L1Jets, _l1_response
from trigkit.emulator.schema import Menu
from trigkit.events.batch import EventBatch
from trigkit.events.nanoaod_l1 import with_derived_l1jets

TAG_CUTS = ("btag_mean", "btag_sum", "btag_count")
FEATURE_SETS = ("shift", "jet+tag", "cuts", "parts")


@dataclass(frozen=True)
class PathCeiling:
    name: str
    n: int
    n_agree: int  # the emulated decision (every margin >= 1) vs the recorded bit
    decomposition: Decomposition
    in_sample: dict[str, int]  # feature set -> most agreeing events (fitted on all events)
    two_fold: dict[str, int]  # feature set -> agreeing events out of sample
    shift_cut: float  # the in-sample common shift (1.1: every threshold 10 % higher)


def _jet_tag(margins: dict[str, np.ndarray]) -> np.ndarray:
    kin = np.min([m for k, m in margins.items() if k not in TAG_CUTS], axis=0)
    tags = [m for k, m in margins.items() if k in TAG_CUTS]
    return np.stack([kin, np.min(tags, axis=0)], axis=1) if tags else kin[:, None]


def path_ceiling(
    menu: Menu, path: str, batch: EventBatch, recorded: np.ndarray, band: float = 0.1
) -> PathCeiling:
    """Decomposition and ceilings of HLT path ``path`` on ``batch`` against ``recorded``."""
    margins = path_margins(menu, path, batch.jets, batch.l1jets)
    parts = np.stack(list(path_features(menu, path, batch.jets, batch.l1jets).values()), axis=1)
    cuts = np.stack(list(margins.values()), axis=1)
    low = cuts.min(axis=1)
    jt = _jet_tag(margins)
    r = np.asarray(recorded, dtype=bool)
    n_shift, (shift_cut,) = box_ceiling(low, r)
    in_sample = {
        "shift": n_shift,
        "jet+tag": box_ceiling(jt, r)[0],
        "cuts": monotone_ceiling(cuts, r),
        "parts": monotone_ceiling(parts, r),
    }
    out_of_sample = {
        "shift": two_fold(low, r)[0],
        "jet+tag": two_fold(jt, r)[0],
        "cuts": monotone_two_fold(cuts, r),
        "parts": monotone_two_fold(parts, r),
    }
    return PathCeiling(
        name=path,
        n=len(r),
        n_agree=int(np.sum((low >= 1.0) == r)),
        decomposition=decompose(margins, r, band),
        in_sample=in_sample,
        two_fold=out_of_sample,
        shift_cut=float(shift_cut),
    )


def menu_ceilings(
    menu: Menu, batch: EventBatch, band: float = 0.1, l1_jets: L1Jets = "auto"
) -> list[PathCeiling]:
    """:func:`path_ceiling` of every HLT path of ``menu`` recorded in ``batch.triggers``, the L1
    seeds on the L1 jets ``l1_jets`` chooses (as in :func:`~trigkit.emulator.nanoaod.
    compare_to_recorded`: ``auto`` derives them where the file measures an L1 response)."""
    if l1_jets not in L1_JETS:
        raise TrigkitError(f"l1_jets must be one of {', '.join(L1_JETS)}, got '{l1_jets}'")
    response = _l1_response([batch], l1_jets)
    if response is not None:
        batch = with_derived_l1jets(batch, response)
    trig = batch.triggers or {}
    return [path_ceiling(menu, p, batch, trig[p], band) for p in menu.hlt if p in trig]
