"""`EventBatch`: the one object the events layer hands to everything downstream.

Layout (all awkward arrays are event-major, ``len(batch)`` events):

``jets`` (var * record), small-R (R=0.4) jets ordered by decreasing pt:
    pt, eta, phi, mass           GeV / rad
    hadron_flavour              int8: 5 = b, 4 = c, 0 = light  (CMS convention; -1 unknown)
    parton_flavour              int8: |pdg id| of the matched parton, 21 gluon, 0 pileup/none
    is_pileup                   bool
    tracks (var * record), ordered by decreasing |d0_sig|:
        pt                      GeV
        deta, dphi              track minus jet axis
        d0, z0                  mm, lifetime-signed (positive when the point of closest approach
                                lies in front of the primary vertex along the jet axis)
        d0_sig, z0_sig          d0/sigma(d0), z0/sigma(z0), same sign convention
    Optional score fields (float32) added by taggers or readers: e.g. ``btag`` (NanoAOD
    btagPNetB / btagDeepFlavB, or a trigkit tagger's output).

``fatjets`` (var * record), large-R (R=0.8) jets ordered by decreasing pt:
    pt, eta, phi, mass, msd (soft-drop mass), tau21
    label                       int8: 1 = H->bb (both b quarks inside), 0 = other
    constituents (var * record): pt, deta, dphi, d0_sig (0 for neutrals), charge

``l1jets``   (var * record) or None: Level-1 calorimeter jets (pt, eta, phi), decreasing pt,
    from coarse towers with L1 response and pileup (Pythia engine); L1 seeds read these.
    With a Phase-2 L1 tracker (Pythia engine; optional fields, :data:`L1JET_TAGGER_FIELDS`):
        mass                    GeV, of the jet's towers
        hadron_flavour, parton_flavour, is_pileup   truth labels as for ``jets`` (training only)
        tracks (var * record)   the jet's L1 tracks, the fields of ``jets.tracks`` (z0 from the
                                L1 vertex); the L1 tagger reads these (:attr:`has_l1_tracks`)
    Readers without an L1 tracker (NanoAOD's derived L1 jets) have pt, eta, phi only; the L1
    tagger then reads the offline jets and tracks instead (labelled so in every result).

``weight``   float64[n]: events; sum(weight) = cross-section x ``lumi_pb`` (pb^-1)
``truth``    record[n]: mhh, h1_pt, h2_pt (GeV; NaN when the sample has no Higgs bosons)
``triggers`` dict name -> bool[n]: recorded HLT_*/L1_* decisions (empty for generated events)
``trigobj``  var * record of trigger objects (pt, eta, phi, id) or None
``process``  "hh4b" | "qcd" | "ttbar" | "nanoaod" | "hdf5" ...
``lumi_pb``  integrated luminosity (pb^-1) the weights are normalised to
``source``   where the events came from (file path or generator spec), for messages
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import awkward as ak
import numpy as np

JET_FIELDS = ("pt", "eta", "phi", "mass", "hadron_flavour", "parton_flavour", "is_pileup")
TRACK_FIELDS = ("pt", "deta", "dphi", "d0", "z0", "d0_sig", "z0_sig")
FATJET_FIELDS = ("pt", "eta", "phi", "mass", "msd", "tau21", "label")
CONSTITUENT_FIELDS = ("pt", "deta", "dphi", "d0_sig", "charge")
TRUTH_FIELDS = ("mhh", "h1_pt", "h2_pt")
L1JET_FIELDS = ("pt", "eta", "phi")
L1JET_TAGGER_FIELDS = ("mass", "hadron_flavour", "parton_flavour", "is_pileup")


@dataclass
class EventBatch:
    jets: ak.Array
    weight: np.ndarray
    truth: ak.Array
    fatjets: ak.Array | None = None
    triggers: dict[str, np.ndarray] = field(default_factory=dict)
    trigobj: ak.Array | None = None
    process: str = "unknown"
    lumi_pb: float = 1.0
    source: str = ""
    l1jets: ak.Array | None = None

    def __post_init__(self) -> None:
        n = len(self.jets)
        self.weight = np.asarray(self.weight, dtype=np.float64)
        checks: list[tuple[str, int]] = [("weight", len(self.weight)), ("truth", len(self.truth))]
        if self.fatjets is not None:
            checks.append(("fatjets", len(self.fatjets)))
        if self.trigobj is not None:
            checks.append(("trigobj", len(self.trigobj)))
        if self.l1jets is not None:
            checks.append(("l1jets", len(self.l1jets)))
        checks += [(f"triggers[{k}]", len(v)) for k, v in self.triggers.items()]
        for name, length in checks:
            if length != n:
                raise ValueError(
                    f"EventBatch from {self.source or '?'}: {name} has {length} entries, "
                    f"jets has {n}"
                )

    def __len__(self) -> int:
        return len(self.jets)

    def __getitem__(self, sel: Any) -> EventBatch:
        """Select events (slice, boolean mask or index array)."""
        return replace(
            self,
            jets=self.jets[sel],
            weight=self.weight[sel],
            truth=self.truth[sel],
            fatjets=None if self.fatjets is None else self.fatjets[sel],
            triggers={k: v[sel] for k, v in self.triggers.items()},
            trigobj=None if self.trigobj is None else self.trigobj[sel],
            l1jets=None if self.l1jets is None else self.l1jets[sel],
        )

    @property
    def has_l1_tracks(self) -> bool:
        """Whether the L1 jets carry L1 tracks: the L1 tagger then reads ``l1jets`` (features,
        labels, ``l1_score``), else the offline ``jets`` with their offline tracks."""
        return self.l1jets is not None and "tracks" in ak.fields(self.l1jets)

    @property
    def l1_tagger_collection(self) -> str:
        """``"l1jets"`` or ``"jets"``: the objects the L1 tagger scores (:attr:`has_l1_tracks`)."""
        return "l1jets" if self.has_l1_tracks else "jets"

    def objects(self, collection: str) -> ak.Array | None:
        """``jets``, ``fatjets`` or ``l1jets`` by name."""
        if collection not in ("jets", "fatjets", "l1jets"):
            raise ValueError(f"EventBatch: no collection {collection!r} (jets, fatjets, l1jets)")
        return getattr(self, collection)

    @property
    def sum_weights(self) -> float:
        return float(self.weight.sum())

    def to_awkward(self) -> ak.Array:
        """One record array per event, the on-disk (Parquet) form."""
        contents: dict[str, Any] = {"jets": self.jets, "weight": self.weight, "truth": self.truth}
        if self.fatjets is not None:
            contents["fatjets"] = self.fatjets
        if self.trigobj is not None:
            contents["trigobj"] = self.trigobj
        if self.l1jets is not None:
            contents["l1jets"] = self.l1jets
        if self.triggers:
            contents["triggers"] = ak.zip(dict(self.triggers))
        return ak.zip(contents, depth_limit=1)

    @classmethod
    def from_awkward(
        cls, arr: ak.Array, *, process: str, lumi_pb: float, source: str = ""
    ) -> EventBatch:
        fields = set(arr.fields)
        triggers: dict[str, np.ndarray] = {}
        if "triggers" in fields:
            trig = arr["triggers"]
            triggers = {k: ak.to_numpy(trig[k]).astype(bool) for k in trig.fields}
        return cls(
            jets=arr["jets"],
            weight=ak.to_numpy(arr["weight"]),
            truth=arr["truth"],
            fatjets=arr["fatjets"] if "fatjets" in fields else None,
            triggers=triggers,
            trigobj=arr["trigobj"] if "trigobj" in fields else None,
            l1jets=arr["l1jets"] if "l1jets" in fields else None,
            process=process,
            lumi_pb=lumi_pb,
            source=source,
        )

    @classmethod
    def concatenate(cls, batches: list[EventBatch]) -> EventBatch:
        if not batches:
            raise ValueError("EventBatch.concatenate needs at least one batch")
        first = batches[0]
        arr = ak.concatenate([b.to_awkward() for b in batches])
        return cls.from_awkward(
            arr, process=first.process, lumi_pb=first.lumi_pb, source=first.source
        )
