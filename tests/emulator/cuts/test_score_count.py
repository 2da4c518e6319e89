"""``btag_count`` / ``tagger``: hand counts, in both engines."""

from __future__ import annotations

from tests.emulator.cuts.conftest import decide, jets


def test_score_count_hand_counts() -> None:
    # selected (pt >= 30, |eta| <= 2.5): 100(0.2) 60(0.7) 45(0.9) 31(0.55)
    cases = [
        ({"wp": 0.55, "n": 3}, True),
        ({"wp": 0.55, "n": 4}, False),
        ({"wp": 0.56, "n": 2}, True),
        ({"wp": 0.56, "n": 3}, False),
        ({"wp": 0.89, "n": 3, "jet_pt": 0.0, "jet_abs_eta": 3.0}, True),  # 0.99, 0.9, 0.95
        ({"wp": 0.9, "n": 3, "jet_pt": 0.0, "jet_abs_eta": 3.0}, False),  # float32(0.9) < 0.9
    ]
    got = decide("btag_count", [c for c, _ in cases], [jets(), []])
    assert got[0].tolist() == [want for _, want in cases]
    assert not got[1].any()


def test_l1_tagger_defaults_read_l1_score_above_20_gev() -> None:
    # the L1 score equals the b-tag here; jet_pt 20 by default: the 29 GeV jet (0.95) counts
    cases = [
        ({"wp": 0.94, "n": 1}, True),
        ({"wp": 0.94, "n": 1, "jet_pt": 30.0}, False),  # without the 29 GeV jet
        ({"wp": 0.89, "n": 2}, True),  # 0.9, 0.95
        ({"wp": 0.89, "n": 3}, False),
    ]
    got = decide("tagger", [c for c, _ in cases], [jets()], level="l1")
    assert got[0].tolist() == [want for _, want in cases]


def test_missing_score_never_passes() -> None:
    ev = jets([50.0, 40.0], [0.0, 0.0], [float("nan"), 0.5])
    got = decide("btag_count", [{"wp": -1e30, "n": 2}, {"wp": -1e30, "n": 1}], [ev])
    assert got[0].tolist() == [False, True]
