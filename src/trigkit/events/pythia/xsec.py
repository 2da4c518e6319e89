"""Pythia's inclusive LO cross sections of W -> mu nu and Z -> mu mu (60 < m < 120 GeV).

The zjets / wjets samples carry Pythia's sigma with a pT-hat cut, which no measurement quotes.
The same Pythia (beams, PDFs, couplings of ``settings.COMMON``) without a pT-hat cut gives the
inclusive sigma x BR that CMS measured at 13.6 TeV. Only the hard process is generated
(2 -> 1, then the boson decay; no shower or hadronisation), which is all that sigma needs: a
few thousand events a second.
"""

from __future__ import annotations

from dataclasses import dataclass

from trigkit.events.pythia import settings

MB_TO_PB = 1e9
Z_MASS_WINDOW = (60.0, 120.0)  # GeV, the measured dimuon mass range
HARD_ONLY = ("PartonLevel:all = off", "HadronLevel:all = off")
INCLUSIVE = {
    "z_mumu": (
        "WeakSingleBoson:ffbar2gmZ = on",
        "WeakZ0:gmZmode = 2",  # pure Z, as in zjets
        f"PhaseSpace:mHatMin = {Z_MASS_WINDOW[0]:g}",
        f"PhaseSpace:mHatMax = {Z_MASS_WINDOW[1]:g}",
        "23:onMode = off",
        "23:onIfMatch = 13 -13",
    ),
    "w_munu": ("WeakSingleBoson:ffbar2W = on", "24:onMode = off", "24:onIfAny = 13"),
}


@dataclass(frozen=True)
class Sigma:
    """Pythia's cross-section estimate and its statistical error (pb)."""

    pb: float
    err_pb: float


def inclusive_sigma(channel: str, n_events: int = 20_000, seed: int = 11) -> Sigma:
    """sigma x BR of ``channel`` (a key of ``INCLUSIVE``) from ``n_events`` hard processes."""
    if channel not in INCLUSIVE:
        raise ValueError(f"unknown channel '{channel}'; valid: {', '.join(INCLUSIVE)}")
    pythia = settings.build([*INCLUSIVE[channel], *HARD_ONLY], seed, f"inclusive {channel}")
    with settings.captured_stdout():
        for _ in range(n_events):
            pythia.next()
    info = pythia.infoPython()
    return Sigma(float(info.sigmaGen()) * MB_TO_PB, float(info.sigmaErr()) * MB_TO_PB)
