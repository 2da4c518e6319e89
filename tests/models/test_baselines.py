from __future__ import annotations

import math

import numpy as np
import pytest

from trigkit.core.errors import TrigkitError
from trigkit.models import baselines as B
from trigkit.models import metrics as M
from trigkit.models.feature_set import FeatureSet
from trigkit.models.features import extract


def _tiny_tracks() -> FeatureSet:
    """Three jets: a b jet with tracks (5, 0) and (12, 1), a light jet with (0.5, 0), a c jet."""
    x = np.zeros((3, 4, 6), np.float32)
    mask = np.zeros((3, 4), bool)
    x[0, 0, :2], x[0, 1, :2], mask[0, :2] = (12.0, 1.0), (5.0, 0.0), True
    x[1, 0, :2], mask[1, 0] = (0.5, 0.0), True
    x[2, 0, :2], mask[2, 0] = (3.0, 0.0), True
    return FeatureSet(
        "tracks",
        {"tracks": x, "mask": mask},
        ("d0_sig", "z0_sig", "log_pt_frac", "deta", "dphi", "d0"),
        np.array([0, 2, 1]),
        ("b", "c", "light"),
        np.arange(3),
        np.zeros(3, np.int64),
        np.ones(3),
        {},
        "tiny",
    )


def test_ip3d_templates_by_hand():
    fs = _tiny_tracks()
    ip = B.fit_ip3d(fs)
    # d0 bins are 1 wide from -10; z0 bins 2 wide from -10 (z0 = 0 and 1 both in bin 5)
    nx, ny = 50, 10
    sig = np.full((nx, ny), B.PSEUDO)
    bkg = np.full((nx, ny), B.PSEUDO)
    sig[22, 5] += 1
    sig[15, 5] += 1
    bkg[10, 5] += 1
    lr = np.log((sig / sig.sum()) / (bkg / bkg.sum()))
    assert ip.score(fs)[0] == pytest.approx(lr[22, 5] + lr[15, 5], rel=1e-12)
    assert ip.score(fs)[1] == pytest.approx(lr[10, 5], rel=1e-12)
    assert ip.score(fs)[2] == pytest.approx(lr[13, 5], rel=1e-12)
    assert B.Baseline.from_dict(ip.to_dict()) == ip


def test_second_track_d0sig():
    fs = _tiny_tracks()
    np.testing.assert_array_equal(
        B.Baseline("d0sig-2nd", "tracks").score(fs), [5.0, B.MISSING, B.MISSING]
    )


def test_baselines_separate_on_generated_events(events):
    fs = FeatureSet.concatenate([extract("tracks", b) for b in events])
    sel = fs.labels != 1
    for bl in B.fit_baselines(fs):
        a = M.auc(M.roc(bl.score(fs)[sel], fs.labels[sel] == 0))
        assert a > 0.75, bl.name
    fat = FeatureSet.concatenate([extract("constituents", b) for b in events])
    (mt,) = B.fit_baselines(fat)
    assert mt.name == "mass-tau21"
    assert M.auc(M.roc(mt.score(fat), fat.labels == 0)) > 0.75


def test_mass_tau21_lookup_by_hand():
    aux = {"msd": np.array([125.0, 30.0, 125.0]), "tau21": np.array([0.21, 0.8, 0.22])}
    fs = FeatureSet(
        "constituents",
        {},
        (),
        np.array([0, 1, 0]),
        ("hbb", "qcd"),
        np.arange(3),
        np.zeros(3, np.int64),
        np.ones(3),
        aux,
        "tiny",
    )
    mt = B.fit_mass_tau21(fs)
    n = 30 * 20
    p_sig = (2 + B.PSEUDO) / (2 + n * B.PSEUDO)  # both signal jets share bin (12, 4)
    p_bkg = B.PSEUDO / (1 + n * B.PSEUDO)
    assert mt.score(fs)[0] == pytest.approx(math.log(p_sig / p_bkg))
    with pytest.raises(TrigkitError, match="both signal and background"):
        B.fit_mass_tau21(fs.select(np.array([0, 2])))
