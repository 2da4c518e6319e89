"""``fatjet``: hand counts, in both engines."""

from __future__ import annotations

from tests.emulator.cuts.conftest import decide, jets


def _f(pt: float, eta: float, msd: float, xbb: float) -> dict:
    return {"pt": pt, "eta": eta, "msd": msd, "xbb": xbb}


def test_fatjet_hand_counts() -> None:
    fat = [_f(400.0, 0.0, 30.0, 0.9), _f(260.0, 2.6, 120.0, 0.9), _f(240.0, 1.0, 100.0, 0.5)]
    cases = [
        ({"pt": 250, "abs_eta": 3.0, "msd": 40, "xbb": 0.06}, True),  # the 260 GeV one
        ({"pt": 250, "abs_eta": 2.5, "msd": 40, "xbb": 0.06}, False),
        ({"pt": 200, "abs_eta": 2.5, "msd": 40}, True),  # no Xbb cut
        ({"pt": 200, "abs_eta": 2.5, "msd": 40, "xbb": 0.6}, False),
        ({"pt": 200, "abs_eta": 5.0, "xbb": 0.5, "n": 3}, True),
        ({"pt": 200, "abs_eta": 5.0, "xbb": 0.5, "n": 4}, False),
    ]
    got = decide("fatjet", [c for c, _ in cases], [jets(), []], fat=[fat, []])
    assert got[0].tolist() == [want for _, want in cases]
    assert not got[1].any()  # no large-R jets
