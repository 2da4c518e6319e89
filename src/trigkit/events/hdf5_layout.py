"""The HDF5 name-mapping table: trigkit :class:`EventBatch` fields <-> ATLAS flavour-tagging
columns (training-dataset-dumper / umami / salt names).  See :mod:`trigkit.events.hdf5`."""

from __future__ import annotations

from dataclasses import dataclass

MEV = 1e3  # file MeV per batch GeV


@dataclass(frozen=True)
class Column:
    """One mapped column: batch field <-> file column, file value = batch value * scale."""

    field: str
    column: str
    dtype: str
    scale: float = 1.0


JET_COLUMNS = (
    Column("pt", "pt", "f4", MEV),
    Column("eta", "eta", "f4"),
    Column("phi", "phi", "f4"),
    Column("mass", "mass", "f4", MEV),
    Column("hadron_flavour", "HadronConeExclTruthLabelID", "i4"),
    Column("parton_flavour", "PartonTruthLabelID", "i4"),
    Column("is_pileup", "isPileup", "?"),
)
TRACK_COLUMNS = (
    Column("pt", "pt", "f4", MEV),
    Column("deta", "deta", "f4"),
    Column("dphi", "dphi", "f4"),
    Column("d0", "d0", "f4"),
    Column("z0", "z0SinTheta", "f4"),  # converted with sin(theta_track), see module docstring
    Column("d0_sig", "IP3D_signed_d0_significance", "f4"),
    Column("z0_sig", "IP3D_signed_z0_significance", "f4"),
)
EVENT_COLUMNS = (
    Column("mhh", "mHH", "f8", MEV),
    Column("h1_pt", "h1_pt", "f8", MEV),
    Column("h2_pt", "h2_pt", "f8", MEV),
)
FATJET_COLUMNS = (
    Column("pt", "pt", "f4", MEV),
    Column("eta", "eta", "f4"),
    Column("phi", "phi", "f4"),
    Column("mass", "mass", "f4", MEV),
    Column("msd", "mass_softdrop", "f4", MEV),
    Column("tau21", "Tau21", "f4"),
    Column("label", "label", "i1"),
)
CONSTITUENT_COLUMNS = (
    Column("pt", "pt", "f4", MEV),
    Column("deta", "deta", "f4"),
    Column("dphi", "dphi", "f4"),
    Column("d0_sig", "IP3D_signed_d0_significance", "f4"),
    Column("charge", "charge", "i1"),
)
TRIGOBJ_COLUMNS = (
    Column("pt", "pt", "f4", MEV),
    Column("eta", "eta", "f4"),
    Column("phi", "phi", "f4"),
    Column("id", "id", "i4"),
)
EVENT_NUMBER = "eventNumber"
WEIGHT = "mcEventWeight"
VALID = "valid"
TRIGGERS = "triggers"  # (n_events, n_bits) bool, column j named by TRIGGER_NAMES[j]
TRIGGER_NAMES = "trigger_names"
