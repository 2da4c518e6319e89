"""``jets``: hand counts, in both engines."""

from __future__ import annotations

from tests.emulator.cuts.conftest import PT, decide, jets


def test_jets_hand_counts() -> None:
    # |eta| <= 2.5 jets: 100, 60, 45, 31, 29
    cases = [
        ({"pt": [70, 55, 40]}, True),  # 100>=70, 60>=55, 45>=40
        ({"pt": [70, 55, 40, 35]}, False),  # 4th central jet is 31 < 35
        ({"pt": [100, 60, 45, 31, 29]}, True),  # thresholds equal to the pts pass (>=)
        ({"pt": [70, 55, 40, 35], "abs_eta": 3.0}, True),  # |eta| <= 3: 100, 80, 60, 45
        ({"pt": [35, 40, 55, 70]}, False),  # given in any order: sorted
        ({"pt": [30] * 6, "abs_eta": 3.0}, False),  # 6 jets but the 6th is 29
    ]
    got = decide("jets", [c for c, _ in cases], [jets(), [], jets(PT[2:3], [0.0], [0.5])])
    assert got[0].tolist() == [want for _, want in cases]
    assert not got[1].any()  # no jets
    assert got[2].tolist() == [False] * 6  # one jet for several thresholds
