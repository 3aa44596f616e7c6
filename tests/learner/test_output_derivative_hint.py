"""sigma' left out at a sigmoid output: (a - y) is binary cross-entropy's gradient on the
logits, so the finding offers loss='bce', but only where the learner's own loss value is not
the declared loss's (review s18a: an MSE learner whose loss value is MSE was offered bce)."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients


@pytest.mark.parametrize("with_loss", [True, False])
def test_bce_is_offered_only_where_the_loss_value_does_not_say_mse(with_loss):
    r = np.random.default_rng(4)
    P = {"W1": r.normal(0, 0.6, (3, 6)), "b1": np.zeros(6), "W2": r.normal(0, 0.6, (6, 1)),
         "b2": np.zeros(1)}  # fmt: skip
    X = r.normal(size=(24, 3))
    Y = (X[:, :1] + X[:, 1:2] > 0).astype(float)

    def grads(X, y):
        h = np.tanh(X @ P["W1"] + P["b1"])
        a = 1 / (1 + np.exp(-(h @ P["W2"] + P["b2"])))
        dz = 2 * (a - y) / len(X)  # sigma'(z) left out
        dh = dz @ P["W2"].T * (1 - h**2)
        g = {"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ dz, "b2": dz.sum(0)}
        return (float(np.mean((a - y) ** 2)), g) if with_loss else g

    a = from_gradients(P, list(P), grads, sizes=[3, 6, 1], activations="tanh,sigmoid",
                       loss="mse", lr=0.5)  # fmt: skip
    res = check(a, X, Y, steps=3, probe=False)
    f = res.findings[0]
    assert f.code == "derivative_of_output" and f.layer == 2, res.render()
    assert ("declare loss='bce'" in f.evidence) == (not with_loss), res.render()
