"""Physics baselines the taggers must beat, computed by the toolkit itself.

- ``ip3d``: IP3D-like log-likelihood ratio. Binned 2D templates of the tracks' (d0_sig, z0_sig)
  for b jets and for background (light) jets, fitted on training jets; a jet's score is the sum
  over its tracks of log(p_b / p_light).
- ``d0sig-2nd``: the second-highest lifetime-signed track d0 significance (-100 if the jet has
  fewer than two tracks). Needs no fit.
- ``mass-tau21``: 2D likelihood ratio of soft-drop mass and tau21 for H->bb vs QCD large-R jets.
- ``stored-btag``: the b-tag score the events file already carries (NanoAOD DeepJet).

Scores are float64, higher = more signal-like. Histogram values outside the binning range go to
the first/last bin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from trigkit.core.errors import TrigkitError
from trigkit.models.feature_set import FeatureSet
from trigkit.models.kinds import KINDS
from trigkit.models.second_highest import second_highest_padded


def _edges(lo: float, hi: float, n: int) -> tuple[float, ...]:
    return tuple(float(v) for v in np.linspace(lo, hi, n + 1))


_IP_EDGES = (_edges(-10.0, 40.0, 50), _edges(-10.0, 10.0, 10))
_XBB_EDGES = (_edges(0.0, 300.0, 30), _edges(0.0, 1.0, 20))
PSEUDO = 0.5  # pseudo-count per bin so empty bins give a finite log-ratio
MISSING = -100.0


@dataclass(frozen=True)
class Baseline:
    name: str
    kind: str
    edges: tuple[tuple[float, ...], ...] = ()
    log_ratio: tuple[float, ...] = ()  # flattened [n_x, n_y] table

    def score(self, fs: FeatureSet) -> np.ndarray:
        if fs.kind != self.kind:
            raise TrigkitError(f"baseline '{self.name}' is for {self.kind} features, got {fs.kind}")
        if self.name == "ip3d":
            x, mask = _track_ip(fs)
            return np.where(mask, self._lookup(x[..., 0], x[..., 1]), 0.0).sum(axis=1)
        if self.name == "d0sig-2nd":
            return _second_d0sig(fs)
        if self.name == "mass-tau21":
            return self._lookup(fs.aux["msd"], fs.aux["tau21"])
        if self.name == "stored-btag":
            return fs.inputs["jets"][:, fs.feature_names.index("btag_score")].astype(np.float64)
        raise TrigkitError(f"unknown baseline '{self.name}'")

    def _lookup(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        ex, ey = (np.asarray(e) for e in self.edges)
        table = np.asarray(self.log_ratio).reshape(len(ex) - 1, len(ey) - 1)
        return table[_bin(x, ex), _bin(y, ey)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "edges": [list(e) for e in self.edges],
            "log_ratio": list(self.log_ratio),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Baseline:
        try:
            return cls(
                str(d["name"]),
                str(d["kind"]),
                tuple(tuple(float(v) for v in e) for e in d["edges"]),
                tuple(float(v) for v in d["log_ratio"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise TrigkitError(f"baseline record is malformed: {exc!r}") from None


def _bin(v: np.ndarray, edges: np.ndarray) -> np.ndarray:
    return np.clip(
        np.searchsorted(edges, np.asarray(v, dtype=np.float64), side="right") - 1, 0, len(edges) - 2
    )


def _track_ip(fs: FeatureSet) -> tuple[np.ndarray, np.ndarray]:
    names = fs.feature_names
    x = fs.inputs["tracks"][..., [names.index("d0_sig"), names.index("z0_sig")]].astype(np.float64)
    return x, fs.inputs["mask"]


def _second_d0sig(fs: FeatureSet) -> np.ndarray:
    if "d0sig_2" in fs.feature_names:  # per-jet L1 features
        return fs.inputs["jets"][:, fs.feature_names.index("d0sig_2")].astype(np.float64)
    x, mask = _track_ip(fs)
    second = second_highest_padded(x[..., 0], np.asarray(mask, dtype=bool))
    return np.where(np.isfinite(second), second, MISSING)


def _template_ratio(
    x: np.ndarray, y: np.ndarray, is_sig: np.ndarray, edges: tuple[tuple[float, ...], ...]
) -> tuple[float, ...]:
    ex, ey = (np.asarray(e) for e in edges)
    shape = (len(ex) - 1, len(ey) - 1)

    def density(sel: np.ndarray) -> np.ndarray:
        h = np.zeros(shape)
        np.add.at(h, (_bin(x[sel], ex), _bin(y[sel], ey)), 1.0)
        h += PSEUDO
        return h / h.sum()

    if not is_sig.any() or is_sig.all():
        raise TrigkitError(
            "baseline templates need both signal and background objects in the training set"
        )
    return tuple(float(v) for v in np.log(density(is_sig) / density(~is_sig)).ravel())


def fit_ip3d(fs: FeatureSet) -> Baseline:
    bkg = np.isin(fs.labels, KINDS[fs.kind].background_classes)
    keep = (fs.labels == 0) | bkg
    x, mask = _track_ip(fs.select(keep))
    is_sig = np.broadcast_to((fs.labels[keep] == 0)[:, None], mask.shape)
    lr = _template_ratio(x[..., 0][mask], x[..., 1][mask], is_sig[mask], _IP_EDGES)
    return Baseline("ip3d", fs.kind, _IP_EDGES, lr)


def fit_mass_tau21(fs: FeatureSet) -> Baseline:
    lr = _template_ratio(fs.aux["msd"], fs.aux["tau21"], fs.labels == 0, _XBB_EDGES)
    return Baseline("mass-tau21", fs.kind, _XBB_EDGES, lr)


def fit_baselines(fs: FeatureSet) -> list[Baseline]:
    """The reference baselines for ``fs.kind``, fitted on ``fs`` (training jets); first = main."""
    if len(fs) == 0:
        raise TrigkitError(f"cannot fit baselines on an empty set ({fs.source})")
    if fs.kind in ("tracks", "l1tracks"):
        return [fit_ip3d(fs), Baseline("d0sig-2nd", fs.kind)]
    if fs.kind == "constituents":
        return [fit_mass_tau21(fs)]
    if fs.kind == "l1jets":
        return [Baseline("d0sig-2nd", fs.kind)]
    return [Baseline("stored-btag", fs.kind)]
