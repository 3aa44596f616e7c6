"""Gradients implied from a step (from_step) carry the rounding of the weights as the learner
stores them (review s13): a float16 weight of 0.4 rounds to 1e-4, a tenth of the step under lr
0.01, and the noise was taken at the twin's float64, so a correct float16 SGD step was an
lr_schedule with multipliers 1.003, 0.997, ... The noise is now u (|p'| / lr + |g|) at each
weight's own dtype: tight enough that a doubled or sign-flipped gradient still shows."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_step


def _learner(dt, bug, lr, momentum):
    r = np.random.RandomState(1)
    X = r.randn(64, 5).astype(dt)
    Y = np.sin(X[:, :2].sum(1, keepdims=True)).astype(dt)
    P = {"W1": (r.randn(5, 16) * 0.4).astype(dt), "b1": np.zeros(16, dt),
         "W2": (r.randn(16, 1) * 0.3).astype(dt), "b2": np.zeros(1, dt)}  # fmt: skip
    V = {k: np.zeros_like(v) for k, v in P.items()}

    def fwd(X):
        return np.tanh(X @ P["W1"] + P["b1"]) @ P["W2"] + P["b2"]

    def step(X, y):
        h = np.tanh(X @ P["W1"] + P["b1"])
        d = dt(2) * (h @ P["W2"] + P["b2"] - y) / dt(y.size)
        dh = d @ P["W2"].T * (dt(1) - h * h)
        g = {"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ d, "b2": d.sum(0)}
        g["W1"] *= {"double": 2, "flip": -1}.get(bug, 1)
        for k in P:
            V[k] = dt(momentum) * V[k] + g[k]
            P[k] -= dt(lr) * V[k]

    a = from_step(P, list(P), step, forward=fwd, sizes=[5, 16, 1], activations="tanh,identity",
                  loss="mse", optimizer="sgd", lr=lr, momentum=momentum, batch_size=64)  # fmt: skip
    return a, X, Y


@pytest.mark.parametrize("momentum", [0.0, 0.9])
@pytest.mark.parametrize("lr", [0.01, 0.3])
@pytest.mark.parametrize("dt", [np.float16, np.float32])
@pytest.mark.parametrize("bug", [None, "double", "flip"])
def test_an_implied_gradient_is_judged_at_its_weight_s_storage(bug, dt, lr, momentum):
    a, X, Y = _learner(dt, bug, lr, momentum)
    res = check(a, X, Y, steps=6, watch=0, probe=False)
    if bug is None:
        assert res.code == "match", res.render()
        return
    assert res.code == "implementation_bug", res.render()
    assert res.findings[0].params == ("W1",), res.render()
