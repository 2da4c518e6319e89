"""``ht``: hand sums, in both engines."""

from __future__ import annotations

from tests.emulator.conftest import make_batch
from tests.emulator.cuts.conftest import PT, decide, jets
from trigkit.emulator.cuts.ht import ht_value


def test_ht_hand_sums() -> None:
    # selected (pt >= 30, |eta| <= 2.5): 100, 60, 45, 31 -> 236
    cases = [
        ({"min": 236}, True),
        ({"min": 236.001}, False),
        # float32(2.4) = 2.4000001 > 2.4: compared in float64, that jet is outside |eta| <= 2.4
        ({"min": 205, "jet_abs_eta": 2.4}, True),
        ({"min": 206, "jet_abs_eta": 2.4}, False),
        ({"min": 236, "jet_abs_eta": 2.41}, True),
        ({"min": 345, "jet_pt": 0.0, "jet_abs_eta": 5.0}, True),  # every jet: 345
        ({"min": 345.001, "jet_pt": 0.0, "jet_abs_eta": 5.0}, False),
        ({"min": 160, "jet_pt": 50}, True),
        ({"min": 160.5, "jet_pt": 50}, False),
    ]
    got = decide("ht", [c for c, _ in cases], [jets(), []])
    assert got[0].tolist() == [want for _, want in cases]
    assert not got[1].any()  # no jets: HT 0


def test_leading_ht_hand_sums() -> None:
    # selected (pt >= 30, |eta| <= 2.5): 100, 60, 45, 31 (80 at |eta| 2.6 is skipped, not counted)
    cases = [
        ({"min": 100, "leading": 1}, True),
        ({"min": 100.5, "leading": 1}, False),
        ({"min": 160, "leading": 2}, True),  # 100 + 60: the failing-|eta| 80 is not one of the 2
        ({"min": 160.5, "leading": 2}, False),
        ({"min": 205.5, "leading": 3}, False),
        ({"min": 236, "leading": 4}, True),  # exactly 4 selected
        ({"min": 236, "leading": 5}, True),  # fewer than 5 selected: all of them
        ({"min": 236.5, "leading": 5}, False),
        ({"min": 180, "jet_pt": 0, "jet_abs_eta": 5.0, "leading": 2}, True),  # 100 + 80
        ({"min": 180.5, "jet_pt": 0, "jet_abs_eta": 5.0, "leading": 2}, False),
    ]
    got = decide("ht", [c for c, _ in cases], [jets()])
    assert got[0].tolist() == [want for _, want in cases]


def test_ht_value_hand_sums() -> None:
    b = make_batch([jets(), jets(PT[::-1], [0.0] * 6, [0.5] * 6), []])
    assert ht_value(b.jets, 30.0, 2.5).tolist() == [236.0, 316.0, 0.0]
    # not pt-ordered input: the leading ones are found by sorting
    assert ht_value(b.jets, 30.0, 2.5, 2).tolist() == [160.0, 180.0, 0.0]
