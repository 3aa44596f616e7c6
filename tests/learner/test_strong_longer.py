"""Before ``capacity`` is claimed, the strong run goes on for four times its steps: a network
that gets there later can represent the data, ``slow_training`` (review s34 F3: the nnfs spiral
reached its bound, 88/90 given the rows its centre repeats, at step 5,000, said "cannot
represent this data"). A linear model on XOR stays ``capacity``."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients


def _spiral(n=30, k=3):
    rng = np.random.RandomState(0)
    X, y = np.zeros((n * k, 2)), np.zeros(n * k, dtype=int)
    for c in range(k):
        r, t = np.linspace(0, 1, n), np.linspace(c * 4, (c + 1) * 4, n) + rng.randn(n) * 0.2
        X[n * c : n * (c + 1)] = np.c_[r * np.sin(t * 2.5), r * np.cos(t * 2.5)]
        y[n * c : n * (c + 1)] = c
    return X, y


def _mlp(hidden: int, X_dim: int = 2, out: int = 3):
    r = np.random.RandomState(0)
    P = {"W1": 0.1 * r.randn(X_dim, hidden), "b1": np.zeros(hidden),
         "W2": 0.1 * r.randn(hidden, out), "b2": np.zeros(out)}  # fmt: skip

    def grads(X, y):
        h = np.maximum(X @ P["W1"] + P["b1"], 0)
        z = h @ P["W2"] + P["b2"]
        p = np.exp(z - z.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        d = (p - np.eye(out)[y]) / len(X)
        dh = d @ P["W2"].T * (h > 0)
        return {"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ d, "b2": d.sum(0)}

    return from_gradients(P, list(P), grads, sizes=[X_dim, hidden, out],
                          activations="relu,softmax", loss="cross_entropy",
                          optimizer="adam(eps=1e-7)", lr=0.05, lr_decay=5e-4)  # fmt: skip


def test_a_spiral_the_net_fits_only_later_is_slow_training_not_capacity():
    res = check(_mlp(32), *_spiral(), steps=2, watch=0)
    assert res.code == "match", res.render()
    assert "capacity" not in res.codes() and "slow_training" in res.codes(), res.render()
    assert "so the network can represent it" in res.finding("slow_training").evidence


@pytest.mark.parametrize("hidden", [1])
def test_a_net_too_small_for_the_spiral_stays_capacity(hidden):
    res = check(_mlp(hidden), *_spiral(), steps=2, watch=0)
    assert res.code == "match" and "capacity" in res.codes(), res.render()
