"""Units that die during the declared run are no cause where the run goes on to fit (review
s22b, finding 2): Karpathy's spiral net (2-100-3 ReLU, softmax, lr 1, reg 1e-3) loses 7 units
in its first steps and reaches 283/300 in the probe's budget; it was ``dead_units`` ("He init,
leaky_relu, or lower the learning rate"), tested with one budget more as if the dead units
were the start's. The same SGD run on fits: ``slow_training``, "train longer"."""

from __future__ import annotations

import numpy as np

from nnparity.reference.learner import check, from_loss


def _spiral():
    r = np.random.RandomState(0)
    n, k = 100, 3
    X, y = np.zeros((n * k, 2)), np.zeros(n * k, dtype="uint8")
    for j in range(k):
        t = np.linspace(j * 4, (j + 1) * 4, n) + r.randn(n) * 0.2
        rad = np.linspace(0.05, 1, n)  # from 0.05: no two rows alike
        X[n * j : n * (j + 1)] = np.c_[rad * np.sin(t), rad * np.cos(t)]
        y[n * j : n * (j + 1)] = j
    P = {"W": 0.01 * r.randn(2, 100), "b": np.zeros((1, 100))}
    P |= {"W2": 0.01 * r.randn(100, 3), "b2": np.zeros((1, 3))}
    return P, X, y


def test_units_that_die_on_the_way_to_a_fit_are_slow_training():
    P, X, y = _spiral()
    reg = 1e-3

    def loss(X, y):
        h = np.maximum(0, X @ P["W"] + P["b"])
        s = h @ P["W2"] + P["b2"]
        p = np.exp(s - s.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        L = -np.log(p[range(len(X)), y]).mean() + 0.5 * reg * (
            (P["W"] ** 2).sum() + (P["W2"] ** 2).sum()
        )
        d = p.copy()
        d[range(len(X)), y] -= 1
        d /= len(X)
        dh = d @ P["W2"].T
        dh[h <= 0] = 0
        g = {"W": X.T @ dh + reg * P["W"], "b": dh.sum(0, keepdims=True)}
        return L, g | {"W2": h.T @ d + reg * P["W2"], "b2": d.sum(0, keepdims=True)}

    decl = dict(sizes=[2, 100, 3], activations="relu,identity", loss="cross_entropy", l2=reg)
    a = from_loss(P, loss, names=["W", "b", "W2", "b2"], optimizer="sgd", lr=1.0, **decl)
    res = check(a, X, y, steps=2, watch=0)
    assert res.code == "match", res.render()
    assert res.training.outcome == "model_limitation", res.render()
    assert res.codes() == ["slow_training"], res.render()
    f = res.findings[0]
    assert "run on for" in f.evidence and "fits too" in f.evidence, f.evidence
    assert f.hint.startswith("train longer"), f.hint
