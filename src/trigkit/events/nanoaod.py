"""CMS NanoAOD reader: ``Events`` TTree -> :class:`~trigkit.events.batch.EventBatch`, chunked.

Mapping (NanoAOD branch -> EventBatch field):

* ``Jet_pt/eta/phi/mass`` -> ``jets.pt/eta/phi/mass`` (float32, re-sorted by decreasing pt).
* ``Jet_hadronFlavour`` -> ``jets.hadron_flavour`` (int8; -1 when the branch is absent, e.g. data).
* ``Jet_partonFlavour`` -> ``jets.parton_flavour`` (int8, ``abs``; -1 when absent).
* ``jets.is_pileup`` is False (NanoAOD carries no pileup truth label for reco jets).
* ``jets.tracks`` is an empty list per jet: NanoAOD stores no tracks.
* Scores: ``jets.btag`` <- ``Jet_btagPNetB`` if present, else ``Jet_btagDeepFlavB``, else NaN;
  ``jets.btag_pnet`` / ``jets.btag_deepflav`` keep both taggers (NaN where absent).
* ``FatJet_pt/eta/phi/mass`` -> ``fatjets``; ``msd`` <- ``FatJet_msoftdrop`` (NaN if absent);
  ``tau21`` <- ``tau2/tau1``, set to 1.0 (least two-prong-like) where ``tau1 <= 0`` or either is
  missing, so a ``tau21 < x`` cut never selects such a jet and no NaN reaches the kernels;
  ``label`` = -1 (unknown); ``xbb`` <- the first present of ``FatJet_particleNet_XbbVsQCD``,
  ``particleNetMD_Xbb/(Xbb+QCD)``, ``particleNetWithMass_HbbvsQCD``, ``deepTagMD_HbbvsQCD``
  (NaN otherwise); ``constituents`` empty. No ``FatJet_*`` branches -> ``fatjets is None``.
* ``GenPart_*`` -> ``truth``: when an event holds exactly two last-copy Higgs bosons (pdgId 25,
  statusFlags bit 13 ``isLastCopy``), ``mhh`` is their invariant mass (float64 four-vector sum)
  and ``h1_pt >= h2_pt`` their pts; NaN otherwise.
* every ``HLT_*`` and ``L1_*`` branch -> ``triggers`` (bool arrays, recorded decisions).
* ``TrigObj_pt/eta/phi/id[/filterBits/l1pt]`` -> ``trigobj`` (``l1pt``: "pt of associated L1
  seed"); None without ``TrigObj_*``. L1 jets: :mod:`trigkit.events.nanoaod_l1`.
* ``weight``: without ``genWeight`` (data) every event weighs 1. With ``genWeight`` the weights
  are ``genWeight / mean(|genWeight|)`` over the whole file (unit-magnitude weights, signs kept,
  so ``sum(weight)`` is the effective event count), or, when ``xsec_pb`` is given,
  ``genWeight * xsec_pb * lumi_pb / sum(genWeight)`` so that ``sum(weight) = xsec x lumi``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import awkward as ak
import numpy as np
import uproot

from trigkit.core.errors import TrigkitError
from trigkit.events.batch import CONSTITUENT_FIELDS, TRACK_FIELDS, EventBatch

log = logging.getLogger(__name__)

KINEMATICS = ("pt", "eta", "phi", "mass")
JET_OPTIONAL = ("hadronFlavour", "partonFlavour", "btagPNetB", "btagDeepFlavB")
FATJET_OPTIONAL = (
    "msoftdrop",
    "tau1",
    "tau2",
    "particleNet_XbbVsQCD",
    "particleNetMD_Xbb",
    "particleNetMD_QCD",
    "particleNetWithMass_HbbvsQCD",
    "deepTagMD_HbbvsQCD",
)
GENPART = ("pt", "eta", "phi", "mass", "pdgId")
TRIGOBJ = ("pt", "eta", "phi", "id")
IS_LAST_COPY_BIT = 13


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".strip()


@dataclass(frozen=True)
class _Plan:
    """Which branches a file offers, decided once per file after validating their types."""

    path: Path
    jet: tuple[str, ...]
    fatjet: tuple[str, ...]
    genpart: tuple[str, ...]
    trigobj: tuple[str, ...]
    triggers: tuple[str, ...]
    has_genweight: bool

    @property
    def branches(self) -> list[str]:
        names = [f"Jet_{b}" for b in self.jet] + [f"FatJet_{b}" for b in self.fatjet]
        names += [f"GenPart_{b}" for b in self.genpart] + [f"TrigObj_{b}" for b in self.trigobj]
        names += list(self.triggers) + (["genWeight"] if self.has_genweight else [])
        return names


def _open_events(path: Path) -> tuple[uproot.ReadOnlyDirectory, uproot.TTree]:
    if not path.exists():
        raise TrigkitError(f"{path}: no such file")
    if not path.is_file():
        raise TrigkitError(f"{path}: not a file")
    try:
        root = uproot.open(path)
    except Exception as exc:  # noqa: BLE001 - uproot raises many types for unreadable files
        raise TrigkitError(
            f"{path}: not a readable ROOT file, truncated or corrupt ({_first_line(exc)})"
        ) from exc
    try:
        keys = root.keys(cycle=False)
        if "Events" not in keys:
            raise TrigkitError(
                f"{path}: no 'Events' tree (found: {', '.join(keys) or 'nothing'}); "
                "a CMS NanoAOD file is needed"
            )
        tree = root["Events"]
    except TrigkitError:
        root.close()
        raise
    except Exception as exc:  # noqa: BLE001
        root.close()
        raise TrigkitError(
            f"{path}: cannot read the 'Events' tree, file truncated or corrupt ({_first_line(exc)})"
        ) from exc
    if not isinstance(tree, uproot.TTree):
        root.close()
        raise TrigkitError(
            f"{path}: 'Events' is a {type(tree).__name__.split('_')[-1]}, not a TTree; "
            "NanoAOD Events must be a TTree"
        )
    return root, tree


def _is_jagged_numeric(interp: object) -> bool:
    return (
        isinstance(interp, uproot.AsJagged)
        and isinstance(interp.content, uproot.AsDtype)
        and interp.content.to_dtype.kind in "fiub"
        and interp.content.to_dtype.shape == ()
    )


def _is_scalar_numeric(interp: object) -> bool:
    return (
        isinstance(interp, uproot.AsDtype)
        and interp.to_dtype.kind in "fiub"
        and interp.to_dtype.shape == ()
    )


def _collection(
    tree: uproot.TTree,
    path: Path,
    prefix: str,
    required: tuple[str, ...],
    optional: tuple[str, ...],
    *,
    must_exist: bool,
) -> tuple[str, ...]:
    """Validate a NanoAOD collection's branches; return the present field names ('' if absent)."""
    keys = set(tree.keys())
    missing = [f"{prefix}_{b}" for b in required if f"{prefix}_{b}" not in keys]
    if missing and (must_exist or len(missing) < len(required)):
        raise TrigkitError(
            f"{path}: Events has no {', '.join(missing)} branch"
            + ("es" if len(missing) > 1 else "")
            + f"; NanoAOD {prefix} collections need {', '.join(f'{prefix}_{b}' for b in required)}"
        )
    if missing:
        return ()
    present = required + tuple(b for b in optional if f"{prefix}_{b}" in keys)
    for b in present:
        interp = tree[f"{prefix}_{b}"].interpretation
        if not _is_jagged_numeric(interp):
            raise TrigkitError(
                f"{path}: branch {prefix}_{b} has type {interp}, expected a jagged numeric "
                f"array (one number per {prefix} object per event)"
            )
    return present


def _plan(tree: uproot.TTree, path: Path) -> _Plan:
    keys = tree.keys()
    triggers = tuple(k for k in keys if k.startswith(("HLT_", "L1_")))
    scalars = list(triggers) + (["genWeight"] if "genWeight" in keys else [])
    for name in scalars:
        interp = tree[name].interpretation
        if not _is_scalar_numeric(interp):
            raise TrigkitError(
                f"{path}: branch {name} has type {interp}, expected one bool/number per event"
            )
    return _Plan(
        path=path,
        jet=_collection(tree, path, "Jet", KINEMATICS, JET_OPTIONAL, must_exist=True),
        fatjet=_collection(tree, path, "FatJet", KINEMATICS, FATJET_OPTIONAL, must_exist=False),
        genpart=_collection(tree, path, "GenPart", GENPART, ("statusFlags",), must_exist=False),
        trigobj=_collection(
            tree, path, "TrigObj", TRIGOBJ, ("filterBits", "l1pt"), must_exist=False
        ),
        triggers=triggers,
        has_genweight="genWeight" in keys,
    )


def _weight_scale(tree: uproot.TTree, plan: _Plan, lumi_pb: float, xsec_pb: float | None) -> float:
    if not plan.has_genweight:
        return 1.0
    try:
        w = np.asarray(tree["genWeight"].array(library="np"), dtype=np.float64)
    except Exception as exc:  # noqa: BLE001
        raise TrigkitError(
            f"{plan.path}: cannot read genWeight, file truncated or corrupt ({_first_line(exc)})"
        ) from exc
    if len(w) == 0:
        return 1.0
    if xsec_pb is not None:
        total = float(w.sum())
        if total == 0.0 or not np.isfinite(total):
            raise TrigkitError(
                f"{plan.path}: sum of genWeight is {total}; cannot normalise to xsec"
            )
        return xsec_pb * lumi_pb / total
    mean_abs = float(np.abs(w).mean())
    if mean_abs == 0.0 or not np.isfinite(mean_abs):
        raise TrigkitError(f"{plan.path}: genWeight is all zero or not finite")
    return 1.0 / mean_abs


def _empty_children(
    fields: tuple[str, ...], counts: ak.Array, int_fields: tuple[str, ...] = ()
) -> ak.Array:
    """An empty record list for each object; objects per event given by ``counts``."""
    empty = ak.zip({f: np.zeros(0, np.int8 if f in int_fields else np.float32) for f in fields})
    n_objects = int(ak.sum(counts))
    per_object = ak.unflatten(empty, np.zeros(n_objects, dtype=np.int64))
    return ak.unflatten(per_object, ak.to_numpy(counts))


def _branch(chunk: ak.Array, name: str, dtype: type, like: ak.Array, fill: float) -> ak.Array:
    if name in chunk.fields:
        return ak.values_astype(chunk[name], dtype)
    return ak.values_astype(ak.full_like(like, fill), dtype)


def _jets(chunk: ak.Array) -> ak.Array:
    pt = ak.values_astype(chunk["Jet_pt"], np.float32)
    nan = np.nan
    cols = {k: ak.values_astype(chunk[f"Jet_{k}"], np.float32) for k in KINEMATICS}
    cols["hadron_flavour"] = _branch(chunk, "Jet_hadronFlavour", np.int8, pt, -1)
    if "Jet_partonFlavour" in chunk.fields:
        cols["parton_flavour"] = ak.values_astype(abs(chunk["Jet_partonFlavour"]), np.int8)
    else:
        cols["parton_flavour"] = _branch(chunk, "Jet_partonFlavour", np.int8, pt, -1)
    cols["is_pileup"] = ak.values_astype(ak.zeros_like(pt), bool)
    cols["tracks"] = _empty_children(TRACK_FIELDS, ak.num(pt))
    pnet = _branch(chunk, "Jet_btagPNetB", np.float32, pt, nan)
    deepflav = _branch(chunk, "Jet_btagDeepFlavB", np.float32, pt, nan)
    cols["btag"] = pnet if "Jet_btagPNetB" in chunk.fields else deepflav
    cols["btag_pnet"] = pnet
    cols["btag_deepflav"] = deepflav
    jets = ak.zip(cols, depth_limit=2)
    return jets[ak.argsort(jets.pt, axis=1, ascending=False, stable=True)]


def _xbb(chunk: ak.Array, like: ak.Array) -> ak.Array:
    f = set(chunk.fields)
    if "FatJet_particleNet_XbbVsQCD" in f:
        return ak.values_astype(chunk["FatJet_particleNet_XbbVsQCD"], np.float32)
    if {"FatJet_particleNetMD_Xbb", "FatJet_particleNetMD_QCD"} <= f:
        xbb = ak.values_astype(chunk["FatJet_particleNetMD_Xbb"], np.float64)
        qcd = ak.values_astype(chunk["FatJet_particleNetMD_QCD"], np.float64)
        den = xbb + qcd
        return ak.values_astype(
            ak.where(den > 0, xbb / ak.where(den > 0, den, 1.0), np.nan), np.float32
        )
    for name in ("FatJet_particleNetWithMass_HbbvsQCD", "FatJet_deepTagMD_HbbvsQCD"):
        if name in f:
            return ak.values_astype(chunk[name], np.float32)
    return ak.values_astype(ak.full_like(like, np.nan), np.float32)


def _fatjets(chunk: ak.Array) -> ak.Array:
    pt = ak.values_astype(chunk["FatJet_pt"], np.float32)
    cols = {k: ak.values_astype(chunk[f"FatJet_{k}"], np.float32) for k in KINEMATICS}
    cols["msd"] = _branch(chunk, "FatJet_msoftdrop", np.float32, pt, np.nan)
    tau1 = _branch(chunk, "FatJet_tau1", np.float64, pt, 0.0)
    tau2 = _branch(chunk, "FatJet_tau2", np.float64, pt, 0.0)
    ok = tau1 > 0
    cols["tau21"] = ak.values_astype(ak.where(ok, tau2 / ak.where(ok, tau1, 1.0), 1.0), np.float32)
    cols["label"] = ak.values_astype(ak.full_like(pt, -1), np.int8)
    cols["xbb"] = _xbb(chunk, pt)
    cols["constituents"] = _empty_children(CONSTITUENT_FIELDS, ak.num(pt), int_fields=("charge",))
    fatjets = ak.zip(cols, depth_limit=2)
    return fatjets[ak.argsort(fatjets.pt, axis=1, ascending=False, stable=True)]


def higgs_truth(chunk: ak.Array, n_events: int) -> ak.Array:
    """mhh, h1_pt, h2_pt from the two last-copy Higgs bosons of each event (NaN otherwise)."""
    if "GenPart_pdgId" not in chunk.fields:
        nan = np.full(n_events, np.nan)
        return ak.zip({"mhh": nan, "h1_pt": nan.copy(), "h2_pt": nan.copy()})
    is_h = chunk["GenPart_pdgId"] == 25
    if "GenPart_statusFlags" in chunk.fields:
        is_h = is_h & ((chunk["GenPart_statusFlags"] & (1 << IS_LAST_COPY_BIT)) != 0)
    two = ak.to_numpy(ak.sum(is_h, axis=1)) == 2
    comps = {}
    for k in KINEMATICS:
        h = ak.pad_none(ak.values_astype(chunk[f"GenPart_{k}"][is_h], np.float64), 2, clip=True)
        comps[k] = np.asarray(ak.fill_none(h, 0.0).to_numpy(), dtype=np.float64)  # (n, 2)
    pt, eta, phi, m = comps["pt"], comps["eta"], comps["phi"], comps["mass"]
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    e = np.sqrt(px**2 + py**2 + pz**2 + m**2)
    s = e.sum(1) ** 2 - px.sum(1) ** 2 - py.sum(1) ** 2 - pz.sum(1) ** 2
    mhh = np.where(two, np.sqrt(np.maximum(s, 0.0)), np.nan)
    return ak.zip(
        {
            "mhh": mhh,
            "h1_pt": np.where(two, pt.max(1), np.nan),
            "h2_pt": np.where(two, pt.min(1), np.nan),
        }
    )


def _trigobj(chunk: ak.Array) -> ak.Array:
    cols = {k: ak.values_astype(chunk[f"TrigObj_{k}"], np.float32) for k in ("pt", "eta", "phi")}
    cols["id"] = ak.values_astype(chunk["TrigObj_id"], np.int32)
    if "TrigObj_filterBits" in chunk.fields:
        cols["filterBits"] = ak.values_astype(chunk["TrigObj_filterBits"], np.int32)
    if "TrigObj_l1pt" in chunk.fields:
        cols["l1pt"] = ak.values_astype(chunk["TrigObj_l1pt"], np.float32)
    return ak.zip(cols)


def _to_batch(chunk: ak.Array, plan: _Plan, scale: float, lumi_pb: float) -> EventBatch:
    n = len(chunk)
    weight = (
        ak.to_numpy(chunk["genWeight"]).astype(np.float64) * scale
        if plan.has_genweight
        else np.ones(n, dtype=np.float64)
    )
    return EventBatch(
        jets=_jets(chunk),
        weight=weight,
        truth=higgs_truth(chunk, n),
        fatjets=_fatjets(chunk) if plan.fatjet else None,
        triggers={k: ak.to_numpy(chunk[k]).astype(bool) for k in plan.triggers},
        trigobj=_trigobj(chunk) if plan.trigobj else None,
        process="nanoaod",
        lumi_pb=lumi_pb,
        source=str(plan.path),
    )


def iter_nanoaod(
    path: str | Path,
    *,
    step_size: int = 100_000,
    lumi_pb: float = 1.0,
    xsec_pb: float | None = None,
    entry_start: int | None = None,
    entry_stop: int | None = None,
) -> Iterator[EventBatch]:
    """Yield one :class:`EventBatch` per chunk of ``step_size`` events of a NanoAOD file
    (of entries ``entry_start:entry_stop`` only, when given; weights are still normalised
    over the whole file).

    Raises :class:`TrigkitError` (one line naming the file) for a missing, truncated or corrupt
    file, a file without an ``Events`` TTree or ``Jet_*`` branches, or a branch of the wrong type.
    """
    path = Path(path)
    if step_size < 1:
        raise TrigkitError(f"step_size must be a positive number of events, got {step_size}")
    if not lumi_pb > 0 or (xsec_pb is not None and not xsec_pb > 0):
        raise TrigkitError(f"lumi_pb and xsec_pb must be positive, got {lumi_pb} and {xsec_pb}")
    root, tree = _open_events(path)
    with root:
        plan = _plan(tree, path)
        scale = _weight_scale(tree, plan, lumi_pb, xsec_pb)
        log.info("%s: %d events, %d trigger bits", path, tree.num_entries, len(plan.triggers))
        chunks = tree.iterate(
            plan.branches,
            step_size=step_size,
            library="ak",
            entry_start=entry_start,
            entry_stop=entry_stop,
        )
        while True:
            try:
                chunk = next(chunks)
            except StopIteration:
                return
            except Exception as exc:  # noqa: BLE001 - decompression / deserialization errors
                raise TrigkitError(
                    f"{path}: cannot read Events data, file truncated or corrupt "
                    f"({_first_line(exc)})"
                ) from exc
            try:
                batch = _to_batch(chunk, plan, scale, lumi_pb)
            except ValueError as exc:
                raise TrigkitError(
                    f"{path}: inconsistent NanoAOD collections ({_first_line(exc)})"
                ) from exc
            yield batch


def count_entries(path: str | Path) -> int:
    """Entries in the ``Events`` tree of a NanoAOD file (from its header; no baskets are read)."""
    root, tree = _open_events(Path(path))
    with root:
        return int(tree.num_entries)


def read_nanoaod(path: str | Path, **kw: object) -> EventBatch:
    """Read a whole NanoAOD file into one :class:`EventBatch` (see :func:`iter_nanoaod`)."""
    batches = list(iter_nanoaod(path, **kw))  # type: ignore[arg-type]
    if not batches:
        raise TrigkitError(f"{path}: the Events tree holds no events")
    return batches[0] if len(batches) == 1 else EventBatch.concatenate(batches)
