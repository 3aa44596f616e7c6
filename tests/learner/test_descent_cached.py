"""Delta-rule code (error = y - a, an update that adds) handing the layer's output down where
its delta belongs (Brownlee's older backpropagation with ``neuron['output']`` for
``neuron['delta']``): one ``wrong_cached_activation``, its sign read in it, never a second
``sign_flip`` telling of an update line with the opposite sign (review s45 F1)."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients

NAMES = ["W1", "b1", "W2", "b2"]


def _learner(bug):
    r = np.random.RandomState(0)
    P = {"W1": 0.5 * r.randn(2, 4), "b1": np.zeros(4), "W2": 0.5 * r.randn(4, 1),
         "b2": np.zeros(1)}  # fmt: skip
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731

    def grads(X, y):
        h = sig(X @ P["W1"] + P["b1"])
        a = sig(h @ P["W2"] + P["b2"])
        d2 = (y - a) * a * (1 - a)  # the descent direction: error = expected - output
        down = a if bug else d2  # the slip: the output handed down where the delta belongs
        d1 = down @ P["W2"].T * h * (1 - h)
        return {"W1": X.T @ d1, "b1": d1.sum(0), "W2": h.T @ d2, "b2": d2.sum(0)}

    def step(X, y):
        for k, g in grads(X, y).items():
            P[k] += 0.5 * g  # the update adds the descent direction

    return from_gradients(P, NAMES, grads, step=step, sizes=[2, 4, 1],
                          activations="sigmoid,sigmoid", loss="half_sse", reduction="sum",
                          optimizer="sgd",
                          lr=0.5)  # fmt: skip


@pytest.mark.parametrize("bug", [False, True])
def test_the_output_handed_down_is_one_finding(bug):
    r = np.random.RandomState(1)
    X = r.randn(8, 2)
    y = (X[:, :1] * X[:, 1:] > 0).astype(float)
    res = check(_learner(bug), X, y, steps=3, probe=False)
    if not bug:
        assert res.code == "match", res.render()
        return
    assert res.code == "implementation_bug", res.render()
    codes = [f.code for f in res.findings if f.kind == "bug"]
    assert "wrong_cached_activation" in codes and "sign_flip" not in codes, res.render()
