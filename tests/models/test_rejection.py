"""Rejection with intervals and pT reweighting, checked against direct computations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import beta

from trigkit.core.errors import TrigkitError
from trigkit.models.rejection import pt_reweight, rejection_at_eff


def _scores(n_sig: int, n_bkg: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(2.0, 1.0, n_sig), rng.normal(0.0, 1.0, n_bkg)


def test_rejection_matches_count_and_clopper_pearson() -> None:
    sig, bkg = _scores(4000, 50_000)
    r = rejection_at_eff(sig, bkg, 0.7)
    cut = np.sort(sig)[::-1][int(np.ceil(0.7 * len(sig))) - 1]  # 70 % of signal at or above
    assert (sig >= cut).mean() == pytest.approx(0.7, abs=1 / len(sig))
    k = int((bkg >= cut).sum())
    assert not r.is_lower_bound and r.n_pass == pytest.approx(k)
    assert r.value == pytest.approx(len(bkg) / k)
    assert r.high == pytest.approx(1 / beta.ppf(0.1585, k, len(bkg) - k + 1), rel=1e-3)
    assert r.low == pytest.approx(1 / beta.ppf(0.8415, k + 1, len(bkg) - k), rel=1e-3)
    assert r.low < r.value < r.high


def test_too_few_passing_background_is_a_lower_bound() -> None:
    sig, bkg = _scores(2000, 3000)
    r = rejection_at_eff(sig + 5.0, bkg, 0.7)  # almost nothing passes
    assert r.is_lower_bound and r.n_pass < 100 and np.isnan(r.low)
    assert r.text().startswith("> ")


def test_integer_weights_equal_repeated_jets() -> None:
    sig, bkg = _scores(3000, 20_000, seed=3)
    w = np.random.default_rng(4).integers(1, 4, len(bkg))
    weighted = rejection_at_eff(sig, bkg, 0.5, bkg_weights=w)
    repeated = rejection_at_eff(sig, np.repeat(bkg, w), 0.5)
    assert weighted.value == pytest.approx(repeated.value)
    assert weighted.n_background < repeated.n_background  # n_eff < number of copies


def test_pt_reweight_gives_the_signal_spectrum() -> None:
    rng = np.random.default_rng(5)
    pt_sig = rng.normal(500, 80, 20_000).clip(300)
    pt_bkg = 300 + rng.exponential(150, 200_000)
    w = pt_reweight(pt_bkg, pt_sig)
    edges = np.quantile(pt_sig, np.linspace(0, 1, 11))
    h_sig = np.histogram(pt_sig, edges)[0] / len(pt_sig)
    h_bkg = np.histogram(pt_bkg, edges, weights=w)[0] / w.sum()
    assert np.allclose(h_bkg, h_sig, atol=0.01)
    assert (w[pt_bkg > pt_sig.max()] == 0).all()


def test_bad_input_names_what_is_wrong() -> None:
    sig, bkg = _scores(100, 100)
    with pytest.raises(TrigkitError, match="0 < eff < 1"):
        rejection_at_eff(sig, bkg, 1.5)
    with pytest.raises(TrigkitError, match="background weights"):
        rejection_at_eff(sig, bkg, 0.5, bkg_weights=-np.ones(100))
