"""Builders of broken event files, shared by the reader tests and the CLI tests.

Each builder writes one file into ``tmp`` and returns its path; ``BAD_INPUTS`` maps a case name
to (builder, a fragment the one-line error must contain).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import awkward as ak
import h5py
import numpy as np
import uproot

JAGGED = ak.Array([[50.0, 30.0], [40.0]])


def missing_root(tmp: Path, src: Path) -> Path:
    return tmp / "does_not_exist.root"


def truncated_root(tmp: Path, src: Path) -> Path:
    data = src.read_bytes()
    out = tmp / "truncated.root"
    out.write_bytes(data[: len(data) // 2])
    return out


def corrupt_root(tmp: Path, src: Path) -> Path:
    """Right header, garbage in the middle (the compressed baskets)."""
    data = bytearray(src.read_bytes())
    mid = len(data) // 4
    data[mid : mid + len(data) // 2] = bytes(len(data) // 2)
    out = tmp / "corrupt.root"
    out.write_bytes(bytes(data))
    return out


def not_root(tmp: Path, src: Path) -> Path:
    out = tmp / "text.root"
    out.write_text("this is not a ROOT file\n")
    return out


def no_events_tree(tmp: Path, src: Path) -> Path:
    out = tmp / "no_events.root"
    with uproot.recreate(out) as f:
        f.mktree("Other", {"Jet_pt": "var * float32"})
        f["Other"].extend({"Jet_pt": JAGGED})
    return out


def no_jets(tmp: Path, src: Path) -> Path:
    out = tmp / "no_jets.root"
    with uproot.recreate(out) as f:
        f.mktree("Events", {"Muon_pt": "var * float32", "run": "int32"})
        f["Events"].extend({"Muon_pt": JAGGED, "run": np.array([1, 1], np.int32)})
    return out


def partial_jets(tmp: Path, src: Path) -> Path:
    out = tmp / "partial_jets.root"
    with uproot.recreate(out) as f:
        f.mktree("Events", {"Jet_pt": "var * float32", "Jet_eta": "var * float32"})
        f["Events"].extend({"Jet_pt": JAGGED, "Jet_eta": JAGGED})
    return out


def flat_int_jet_pt(tmp: Path, src: Path) -> Path:
    out = tmp / "flat_jet_pt.root"
    types = {
        "Jet_pt": "int32",
        "Jet_eta": "var * float32",
        "Jet_phi": "var * float32",
        "Jet_mass": "var * float32",
    }
    with uproot.recreate(out) as f:
        f.mktree("Events", types)
        f["Events"].extend(
            {
                "Jet_pt": np.array([3, 1], np.int32),
                "Jet_eta": JAGGED,
                "Jet_phi": JAGGED,
                "Jet_mass": JAGGED,
            }
        )
    return out


def jagged_trigger_bit(tmp: Path, src: Path) -> Path:
    out = tmp / "jagged_hlt.root"
    names = ("Jet_pt", "Jet_eta", "Jet_phi", "Jet_mass", "HLT_Quad")
    with uproot.recreate(out) as f:
        f.mktree("Events", {n: "var * float32" for n in names})
        f["Events"].extend(dict.fromkeys(names, JAGGED))
    return out


def rntuple_events(tmp: Path, src: Path) -> Path:
    out = tmp / "rntuple.root"
    with uproot.recreate(out) as f:
        f["Events"] = {"Jet_pt": JAGGED, "Jet_eta": JAGGED, "Jet_phi": JAGGED, "Jet_mass": JAGGED}
    return out


def unsupported_suffix(tmp: Path, src: Path) -> Path:
    out = tmp / "events.csv"
    shutil.copy(src, out)
    return out


def corrupt_hdf5(tmp: Path, src: Path) -> Path:
    out = tmp / "corrupt.h5"
    out.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(200))
    return out


def truncated_hdf5(tmp: Path, src: Path) -> Path:
    full = tmp / "full.h5"
    with h5py.File(full, "w") as f:
        table = np.zeros(
            5000, dtype=[("eventNumber", "i8"), ("pt", "f4"), ("eta", "f4"), ("phi", "f4")]
        )
        f.create_dataset("jets", data=table)
    out = tmp / "truncated.h5"
    out.write_bytes(full.read_bytes()[:3000])
    full.unlink()
    return out


def hdf5_without_jets(tmp: Path, src: Path) -> Path:
    out = tmp / "no_jets.h5"
    with h5py.File(out, "w") as f:
        f.create_dataset("tracks", data=np.zeros((2, 3), dtype=[("valid", "?"), ("d0", "f4")]))
    return out


def hdf5_without_event_number(tmp: Path, src: Path) -> Path:
    out = tmp / "no_eventnumber.h5"
    with h5py.File(out, "w") as f:
        f.create_dataset(
            "jets", data=np.zeros(3, dtype=[("pt", "f4"), ("eta", "f4"), ("phi", "f4")])
        )
    return out


def hdf5_string_pt(tmp: Path, src: Path) -> Path:
    out = tmp / "string_pt.h5"
    table = np.zeros(2, dtype=[("eventNumber", "i8"), ("pt", "S8"), ("eta", "f4"), ("phi", "f4")])
    table["pt"] = [b"fifty", b"thirty"]
    with h5py.File(out, "w") as f:
        f.create_dataset("jets", data=table)
    return out


Builder = Callable[[Path, Path], Path]
BAD_INPUTS: dict[str, tuple[Builder, str]] = {
    "missing": (missing_root, "no such file"),
    "truncated_root": (truncated_root, "truncated or corrupt"),
    "corrupt_root": (corrupt_root, "truncated or corrupt"),
    "not_root": (not_root, "not a readable ROOT file"),
    "no_events_tree": (no_events_tree, "no 'Events' tree"),
    "no_jets": (no_jets, "Jet_pt"),
    "partial_jets": (partial_jets, "Jet_phi"),
    "flat_int_jet_pt": (flat_int_jet_pt, "branch Jet_pt has type"),
    "jagged_trigger_bit": (jagged_trigger_bit, "branch HLT_Quad has type"),
    "rntuple_events": (rntuple_events, "not a TTree"),
    "unsupported_suffix": (unsupported_suffix, "unsupported file type '.csv'"),
    "corrupt_hdf5": (corrupt_hdf5, "not a readable HDF5 file"),
    "truncated_hdf5": (truncated_hdf5, "HDF5"),
    "hdf5_without_jets": (hdf5_without_jets, "no 'jets' dataset"),
    "hdf5_without_event_number": (hdf5_without_event_number, "no column eventNumber"),
    "hdf5_string_pt": (hdf5_string_pt, "column pt has type |S8"),
}
