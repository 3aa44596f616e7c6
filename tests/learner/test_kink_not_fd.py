"""A ReLU derivative taken as 1 at exactly z = 0 (``z >= 0``) on XOR with zero biases (the
[0, 0] row puts every hidden unit on the kink) is the kink convention, a note beside a match:
review s10d found it called finite_difference_gradients (a one-sided difference at the kink
is exactly that convention's derivative), with 'compute the gradients analytically'."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients

X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
Y = np.array([[0.0], [1.0], [1.0], [0.0]])


@pytest.mark.parametrize("mask", [">=", ">", "half"])
def test_relu_at_its_kink_is_a_convention_not_finite_differences(mask):
    r = np.random.default_rng(0)
    P = {"W1": r.normal(0, 1.0, (2, 4)), "b1": np.zeros(4), "W2": r.normal(0, 1.0, (4, 1)),
         "b2": np.zeros(1)}  # fmt: skip

    def grads(X, y):
        z = X @ P["W1"] + P["b1"]
        h = np.maximum(z, 0)
        a = 1 / (1 + np.exp(-(h @ P["W2"] + P["b2"])))
        d = (a - y) / len(y)
        at = {">=": 1.0, ">": 0.0, "half": 0.5}[mask]  # relu'(0) taken
        dh = d @ P["W2"].T * np.heaviside(z, at)  # np.heaviside(z, 0.5): review s51 F6
        return [X.T @ dh, dh.sum(0), h.T @ d, d.sum(0)]

    a = from_gradients(P, list(P), grads, sizes=[2, 4, 1], activations="relu,sigmoid",
                       loss="bce", lr=0.1)  # fmt: skip
    res = check(a, X, Y, steps=3, probe=False)
    assert res.code == "match", res.render()
    assert ("kink_convention" in res.codes()) == (mask in (">=", "half")), res.render()
