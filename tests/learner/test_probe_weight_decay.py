"""An optimizer's weight decay too strong to fit (review s23b F6): the probe's strong run
replaced the whole optimizer, its decay with it, so it fitted and the answer was
``slow_training``, "use momentum or Adam", which fails with the decay kept. The strong run now
keeps the declared decay (AdamW's for adamw), and the run without it tells
``regularization_strength``; a mild decay still fits."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_loss


def _check(optimizer: str, lr: float):
    r = np.random.RandomState(0)
    P = {"W1": r.randn(2, 8) / np.sqrt(2), "b1": np.zeros(8), "W2": r.randn(8, 1) / np.sqrt(8)}
    P["b2"] = np.zeros(1)

    def loss(X, y):
        h = np.tanh(X @ P["W1"] + P["b1"])
        out = 1 / (1 + np.exp(-(h @ P["W2"] + P["b2"])))
        L = -np.mean(y * np.log(out) + (1 - y) * np.log(1 - out))
        d = (out - y) / len(X)
        dz = d @ P["W2"].T * (1 - h**2)
        return L, {"W1": X.T @ dz, "b1": dz.sum(0), "W2": h.T @ d, "b2": d.sum(0)}

    X = np.random.RandomState(1).uniform(-1, 1, (40, 2))
    y = (X[:, :1] * X[:, 1:] > 0).astype(float)
    decl = dict(sizes=[2, 8, 1], activations="tanh,sigmoid", loss="bce")
    return check(from_loss(P, loss, optimizer=optimizer, lr=lr, **decl), X, y, steps=2, watch=0)


@pytest.mark.parametrize(
    ("opt", "lr"), [("sgd(weight_decay=0.2)", 0.5), ("adamw(weight_decay=5)", 0.01)]
)
def test_a_decay_too_strong_to_fit_is_regularization_strength(opt, lr):
    res = _check(opt, lr)
    assert res.training.outcome == "model_limitation", res.render()
    assert res.training_codes() == ["regularization_strength"], res.render()
    f = res.findings[0]
    assert "with the declared weight_decay" in f.evidence and "lower weight_decay" in f.hint


def test_a_mild_decay_still_fits():
    res = _check("sgd(weight_decay=0.0001)", 0.5)
    assert res.training.outcome == "fits", res.render()
