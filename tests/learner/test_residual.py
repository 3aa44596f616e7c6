"""A correct network with a skip connection (a2 = a1 + relu(a1 W2 + b2)) declared as a plain
stack: no dense declaration expresses it, so the check refuses with what it found (review s9a:
`implementation_bug`, an unexplained forward mismatch). The same stack without the skip
matches, and a real forward bug in a square layer is still named."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import LearnerError, check, from_gradients


def _net(skip: bool, bias_missing: bool = False):
    r = np.random.default_rng(8)
    P = {"W1": r.normal(0, 0.5, (3, 5)), "b1": np.zeros(5), "W2": r.normal(0, 0.5, (5, 5)),
         "b2": r.normal(0, 0.1, 5), "W3": r.normal(0, 0.5, (5, 1)), "b3": np.zeros(1)}  # fmt: skip
    X, y = r.normal(size=(16, 3)), r.normal(size=(16, 1))

    def forward(X):
        a1 = np.tanh(X @ P["W1"] + P["b1"])
        z2 = a1 @ P["W2"] + (0 if bias_missing else P["b2"])
        a2 = np.maximum(z2, 0) + (a1 if skip else 0)
        return a1, z2, a2, a2 @ P["W3"] + P["b3"]

    def grads(X, y):
        a1, z2, a2, out = forward(X)
        d3 = 2 * (out - y) / y.size
        da2 = d3 @ P["W3"].T
        dz2 = da2 * (z2 > 0)
        da1 = dz2 @ P["W2"].T + (da2 if skip else 0)
        dz1 = da1 * (1 - a1**2)
        return [X.T @ dz1, dz1.sum(0), a1.T @ dz2, dz2.sum(0), a2.T @ d3, d3.sum(0)]

    decl = dict(sizes=[3, 5, 5, 1], activations="tanh,relu,identity", loss="mse", lr=0.05,
                layout="in_out")  # fmt: skip
    return from_gradients(P, list(P), grads, forward=lambda X: forward(X)[3], **decl), X, y


@pytest.mark.parametrize("skip", [False, True])
def test_a_skip_connection_is_refused_with_what_was_found(skip):
    a, X, y = _net(skip)
    if not skip:
        assert check(a, X, y, steps=2, probe=False).code == "match"
        return
    with pytest.raises(LearnerError, match=r"layer 2 adding its input \(a residual connection"):
        check(a, X, y, steps=2, probe=False)


def test_a_forward_bug_in_a_square_layer_is_still_named():
    a, X, y = _net(False, bias_missing=True)
    r = check(a, X, y, steps=2, probe=False)
    assert r.codes()[0] == "bias_not_applied", r.render()
