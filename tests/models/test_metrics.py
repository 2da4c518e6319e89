"""Metrics against independent references: hand-computed ROCs, Mann-Whitney U, hand counts."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from trigkit.core.errors import TrigkitError
from trigkit.models import metrics as M
from trigkit.models.configs import AttentionConfig, DeepSetsConfig, MLPConfig


def mann_whitney_auc(s: np.ndarray, y: np.ndarray) -> float:
    """P(s_sig > s_bkg) + 0.5 P(s_sig == s_bkg), by counting pairs in float64."""
    sig, bkg = np.asarray(s[y == 1], np.float64), np.asarray(s[y == 0], np.float64)
    gt = (sig[:, None] > bkg[None, :]).sum()
    eq = (sig[:, None] == bkg[None, :]).sum()
    return float((gt + 0.5 * eq) / (len(sig) * len(bkg)))


def test_hand_computed_roc():
    c = M.roc(np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4]), np.array([1, 1, 0, 1, 0, 0]))
    np.testing.assert_allclose(c.sig_eff, [0, 1 / 3, 2 / 3, 2 / 3, 1, 1, 1])
    np.testing.assert_allclose(c.bkg_eff, [0, 0, 0, 1 / 3, 1 / 3, 2 / 3, 1])
    assert M.auc(c) == pytest.approx(8 / 9)
    # at eps_sig = 0.8: between (2/3, 0) and (1, 1/3) -> eps_bkg = 0.4/3
    assert M.bkg_eff_at(c, 0.8) == pytest.approx(0.4 / 3)
    assert M.rejection_at(c, 0.8) == pytest.approx(7.5)
    assert M.rejection_at(c, 0.5) == math.inf


def test_ties_are_one_point_and_weights_count():
    c = M.roc(np.array([1.0, 1.0, 0.0, 0.0]), np.array([1, 0, 1, 0]))
    np.testing.assert_allclose(c.sig_eff, [0, 0.5, 1])
    np.testing.assert_allclose(c.bkg_eff, [0, 0.5, 1])
    assert M.auc(c) == pytest.approx(0.5)
    w = M.roc(np.array([3.0, 2.0, 1.0]), np.array([1, 0, 0]), np.array([1.0, 3.0, 1.0]))
    np.testing.assert_allclose(w.bkg_eff, [0, 0, 0.75, 1.0])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_auc_matches_mann_whitney(seed):
    rng = np.random.default_rng(seed)
    y = (rng.random(3000) < 0.3).astype(int)
    s = np.round(rng.normal(y * 0.8, 1.0), 1)  # rounding creates many ties
    assert M.auc(M.roc(s, y)) == pytest.approx(mann_whitney_auc(s, y), abs=1e-12)


def test_rejection_matches_direct_count():
    rng = np.random.default_rng(4)
    y = np.r_[np.ones(5000, int), np.zeros(20000, int)]
    s = np.r_[rng.normal(2, 1, 5000), rng.normal(0, 1, 20000)]
    c = M.roc(s, y)
    cut = np.sort(s[y == 1])[::-1][3499]  # exactly 3500 of 5000 signal above: eff 0.7
    want = 1.0 / np.mean(s[y == 0] >= cut)
    assert M.rejection_at(c, 0.7) == pytest.approx(want, rel=1e-9)


def test_discriminant_and_accuracy():
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    want = [math.log(0.7 / (0.05 * 0.2 + 0.95 * 0.1)), math.log(0.1 / (0.05 * 0.1 + 0.95 * 0.8))]
    np.testing.assert_allclose(M.discriminant_b(p), want, rtol=1e-12)
    np.testing.assert_allclose(M.discriminant_b(p, f_c=0.2)[0], math.log(0.7 / (0.04 + 0.08)))
    assert M.accuracy(p, np.array([0, 1])) == 0.5
    assert M.accuracy(p, np.array([0, 1]), np.array([3.0, 1.0])) == 0.75
    with pytest.raises(TrigkitError):
        M.discriminant_b(np.ones((2, 2)))


def test_bad_roc_inputs():
    with pytest.raises(TrigkitError, match="signal and background"):
        M.roc(np.ones(3), np.ones(3))
    with pytest.raises(TrigkitError, match="NaN"):
        M.roc(np.array([np.nan, 1.0]), np.array([0, 1]))


def test_params_and_macs_by_hand():
    mlp = MLPConfig(n_features=16, n_classes=5, hidden=(64, 32, 32)).build()
    hand = 16 * 64 + 64 + 64 * 32 + 32 + 32 * 32 + 32 + 32 * 5 + 5
    assert M.n_params(mlp) == hand == 4389
    assert M.macs(mlp, {"jets": (16,)}, ("jets",)) == 16 * 64 + 64 * 32 + 32 * 32 + 32 * 5
    with torch.no_grad():
        mlp.net[0].weight[:, :8] = 0.0
    assert M.n_params(mlp, nonzero=True) <= hand - 64 * 8

    ds = DeepSetsConfig(n_features=6, n_classes=3, max_objects=15, phi=(8, 4), rho=(5,)).build()
    shapes = {"tracks": (15, 6), "mask": (15,)}
    assert M.macs(ds, shapes, ("tracks", "mask")) == 15 * (6 * 8 + 8 * 4) + 4 * 5 + 5 * 3

    at = AttentionConfig(
        n_features=6, n_classes=3, max_objects=10, dim=8, heads=2, layers=1, ff=16, head=(4,)
    ).build()
    n, d = 10, 8
    embed = n * (6 * d + d * d)
    layer = n * (4 * d * d) + 2 * n * n * d + n * (d * 16 + 16 * d)
    pool = n * d * 1
    head = d * 4 + 4 * 3
    assert (
        M.macs(at, {"tracks": (n, 6), "mask": (n,)}, ("tracks", "mask"))
        == embed + layer + pool + head
    )
