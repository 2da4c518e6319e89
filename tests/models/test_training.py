from __future__ import annotations

import numpy as np
import pytest
import torch

from trigkit.core.errors import TrigkitError
from trigkit.models import metrics as M
from trigkit.models.evaluation import evaluate
from trigkit.models.feature_set import FeatureSet
from trigkit.models.features import extract
from trigkit.models.preprocessing import Preprocessing
from trigkit.models.registry import get_spec
from trigkit.models.training import TensorData, class_weights, fit, train

TINY_DS = {"phi": (16, 16), "rho": (16,)}


def _data(small):
    fs = FeatureSet.concatenate([extract("btag-deepsets", b[:120]) for b in small])
    pre = Preprocessing.fit(fs)
    return fs, pre


def test_fit_is_deterministic_and_restores_best(small):
    fs, pre = _data(small)
    tr, va = fs.select(slice(0, len(fs) // 2)), fs.select(slice(len(fs) // 2, None))
    cfg = get_spec("btag-deepsets").config.model_copy(update=TINY_DS)
    states, hists = [], []
    for _ in range(2):
        torch.manual_seed(3)
        m = cfg.build()
        hists.append(
            fit(m, tr, va, preprocessing=pre, epochs=2, batch_size=128, seed=7, progress=False)
        )
        states.append(m.state_dict())
    assert hists[0] == hists[1]
    for k in states[0]:
        torch.testing.assert_close(states[0][k], states[1][k], rtol=0, atol=0)
    h = hists[0]
    assert h.best_val_loss == min(h.val_loss)
    # the restored weights give the best validation loss again
    vd = TensorData.from_features(va, pre)
    crit = torch.nn.CrossEntropyLoss(
        weight=torch.tensor(class_weights(tr.labels, 3), dtype=torch.float32)
    )
    with torch.no_grad():
        loss = float(
            crit(m(*(torch.from_numpy(x) for x in vd.inputs)), torch.from_numpy(vd.labels))
        )
    assert loss == pytest.approx(h.best_val_loss, rel=1e-4)
    assert not m.training


def test_early_stopping_stops(small):
    fs, pre = _data(small)
    cfg = get_spec("btag-deepsets").config.model_copy(update=TINY_DS)
    torch.manual_seed(0)
    m = cfg.build()
    # a huge learning rate makes the validation loss stop improving quickly
    h = fit(
        m, fs, fs, preprocessing=pre, epochs=40, lr=5.0, batch_size=64, patience=1, progress=False
    )
    assert h.stopped_early and len(h.train_loss) < 40
    assert len(h.train_loss) == h.best_epoch + 2


def test_class_weights():
    np.testing.assert_allclose(class_weights(np.array([0, 0, 0, 1]), 3), [4 / 6, 4 / 2, 0.0])


def test_empty_training_set_is_refused(small):
    empty = [b[:0] for b in small]
    with pytest.raises(TrigkitError, match="empty training set"):
        train("btag-deepsets", empty, epochs=1, progress=False)
    with pytest.raises(TrigkitError, match="empty training set"):
        train("btag-deepsets", [], epochs=1, progress=False)
    fs, pre = _data(small)
    with pytest.raises(TrigkitError, match="empty training set"):
        fit(
            get_spec("btag-deepsets").config.build(),
            fs.select(slice(0, 0)),
            preprocessing=pre,
            progress=False,
        )


def test_unknown_model_name():
    with pytest.raises(TrigkitError, match="unknown model 'btag-dips'; valid:"):
        train("btag-dips", [], epochs=1)


def test_learns_something(events):
    """A few epochs on ~2k events beat chance clearly and get near the IP3D-like baseline."""
    tm = train("l1-mlp", events, seed=0, epochs=4, batch_size=512, lr=3e-3, progress=False)
    ev = evaluate(tm, tm_val_features(tm, events))
    model_auc = ev.model.auc
    base_auc = ev.baselines[0].auc  # second-highest track d0 significance
    assert model_auc > 0.9
    assert model_auc > base_auc
    assert tm.metrics is not None and tm.metrics["model"]["auc"] > 0.9
    assert ev.model.n_params == 4389


def tm_val_features(tm, events):
    from trigkit.models.training import features_of, split

    _, va = split(features_of(tm.name, events), 0.2, 0)
    return va


def test_train_with_overrides_and_max_jets(small):
    tm = train(
        "btag-gn2lite",
        small,
        epochs=1,
        max_jets=300,
        progress=False,
        overrides={"dim": 8, "heads": 2, "layers": 1, "ff": 8, "head": (8,)},
    )
    assert tm.extra["n_train"] + tm.extra["n_val"] == 300
    assert tm.config.dim == 8
    p = tm.predict(small[0])
    assert p.shape[1] == 3
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)
    assert M.n_params(tm.module) < 2000
