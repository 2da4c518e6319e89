"""Per-track (per-constituent) quantities a tagger trained elsewhere reads, derived from the
stored fields (``pt``, ``deta``, ``dphi`` and the parent jet's ``pt, eta, phi, mass``), as
weaver-core's data configs define their particle inputs; four-vectors are massless.

==============  =====================================================================
``eta, phi``    the jet's plus ``deta`` / ``dphi`` (phi wrapped into [-pi, pi))
``dr``          sqrt(deta^2 + dphi^2)
``log_pt``      ln pt
``log_ptrel``   ln(pt / jet pt)
``energy``      pt cosh(eta); ``log_energy`` its log
``log_erel``    ln(energy / jet energy), the jet's energy sqrt((pt cosh eta)^2 + mass^2)
``px, py, pz``  pt cos(phi), pt sin(phi), pt sinh(eta)
==============  =====================================================================
"""

from __future__ import annotations

from collections.abc import Callable

import awkward as ak
import numpy as np

Derived = Callable[[ak.Array, ak.Array], ak.Array]  # (objects, their children) -> per child


def _eta(o: ak.Array, c: ak.Array) -> ak.Array:
    return o.eta + c.deta


def _phi(o: ak.Array, c: ak.Array) -> ak.Array:
    return (o.phi + c.dphi + np.pi) % (2 * np.pi) - np.pi


def _energy(o: ak.Array, c: ak.Array) -> ak.Array:
    return c.pt * np.cosh(_eta(o, c))


def _jet_energy(o: ak.Array) -> ak.Array:
    return np.sqrt((o.pt * np.cosh(o.eta)) ** 2 + o.mass**2)


DERIVED: dict[str, Derived] = {
    "eta": _eta,
    "phi": _phi,
    "dr": lambda o, c: np.sqrt(c.deta**2 + c.dphi**2),
    "log_pt": lambda o, c: np.log(c.pt),
    "log_ptrel": lambda o, c: np.log(c.pt / o.pt),
    "energy": _energy,
    "log_energy": lambda o, c: np.log(_energy(o, c)),
    "log_erel": lambda o, c: np.log(_energy(o, c) / _jet_energy(o)),
    "px": lambda o, c: c.pt * np.cos(_phi(o, c)),
    "py": lambda o, c: c.pt * np.sin(_phi(o, c)),
    "pz": lambda o, c: c.pt * np.sinh(_eta(o, c)),
}


def child_values(objs: ak.Array, child: str, name: str) -> ak.Array:
    """Field ``name`` of every child (``objs[child]``) of each object: stored, or derived."""
    kids = objs[child]
    if name in ak.fields(kids):
        return kids[name]
    with np.errstate(divide="ignore", invalid="ignore"):
        return DERIVED[name](objs, kids)
