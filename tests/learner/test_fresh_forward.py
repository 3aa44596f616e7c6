"""A wrong activation the data never show: a ReLU on an output declared identity, where every
output stays positive (prices, with the output bias started at their mean) and the ReLU is the
identity there. The forward is also held to PyTorch's at fresh weights, where the kink shows
(review s9c: `match`). A correct network still matches."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients


def _regressor(relu_out: bool, seed: int = 4):
    r = np.random.default_rng(seed)
    X = r.normal(size=(40, 3))
    y = 200 + 10 * (X @ np.array([[1.0], [-2.0], [0.5]]))
    P = {"W1": r.normal(0, 0.5, (3, 6)), "b1": np.zeros(6), "W2": r.normal(0, 0.5, (6, 1)),
         "b2": np.full(1, float(y.mean()))}  # fmt: skip
    out_act = (lambda z: np.maximum(z, 0)) if relu_out else (lambda z: z)

    def forward(X):
        return out_act(np.tanh(X @ P["W1"] + P["b1"]) @ P["W2"] + P["b2"])

    def grads(X, y):
        h = np.tanh(X @ P["W1"] + P["b1"])
        z = h @ P["W2"] + P["b2"]
        d = 2 * (out_act(z) - y) / y.size * ((z > 0) if relu_out else 1.0)
        dh = d @ P["W2"].T * (1 - h**2)
        return [X.T @ dh, dh.sum(0), h.T @ d, d.sum(0)]

    a = from_gradients(P, list(P), grads, forward=forward, sizes=[3, 6, 1],
                       activations="tanh,identity", loss="mse", lr=1e-3)  # fmt: skip
    return a, X, y


@pytest.mark.parametrize("seed", [4, 5, 6, 7])
@pytest.mark.parametrize("relu_out", [False, True])
def test_a_relu_the_data_never_reach_shows_at_fresh_weights(relu_out, seed):
    """Review s9d: one fresh initialisation missed it for some networks; the output layer
    negated reaches the other side of the kink whatever the weights."""
    a, X, y = _regressor(relu_out, seed)
    r = check(a, X, y, steps=3, probe=False)
    if not relu_out:
        assert r.code == "match", r.render()
        return
    assert r.code == "implementation_bug", r.render()
    f = r.findings[0]
    assert f.code == "wrong_activation" and f.layer == 2, r.render()
    assert "where your data and weights never go" in f.evidence
    assert "relu applied at layer 2" in f.evidence
