"""A square folded weight (3 inputs + the bias row, 4 units) whose gradient comes back
transposed is named ``transposed`` on the learner's own array, in either layout and fold
(review s24c F3: it was unexplained on both split parts)."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients


def _program(layout, bug):
    r = np.random.RandomState(0)
    X = np.random.RandomState(1).randn(12, 3)
    y = (X.sum(1, keepdims=True) > 0).astype(float)
    W1, W2 = r.randn(4, 4) * 0.5, r.randn(5, 1) * 0.5
    net = {
        "W1": W1 if layout == "in_out" else W1.T.copy(),
        "W2": W2 if layout == "in_out" else W2.T.copy(),
    }
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    ones = lambda A: np.hstack([A, np.ones((len(A), 1))])  # noqa: E731

    def grads(X, y):
        w1 = net["W1"] if layout == "in_out" else net["W1"].T
        w2 = net["W2"] if layout == "in_out" else net["W2"].T
        Xb = ones(X)
        h = sig(Xb @ w1)
        hb = ones(h)
        d2 = (sig(hb @ w2) - y) / len(X)
        d1 = (d2 @ w2.T)[:, :-1] * h * (1 - h)
        g1, g2 = Xb.T @ d1, hb.T @ d2
        if bug == "scaled":
            g1 = 2 * g1
        if layout == "out_in":
            g1, g2 = g1.T, g2.T
        return [g1.T if bug == "transposed" else g1, g2]

    decl = dict(sizes=[3, 4, 1], activations="sigmoid,sigmoid", bias="folded", loss="bce")
    a = from_gradients(net, ["W1", "W2"], grads, optimizer="sgd", lr=0.5, layout=layout, **decl)
    return check(a, X, y, steps=2, probe=False)


@pytest.mark.parametrize("layout", ["in_out", "out_in"])
def test_a_square_folded_gradient_transposed_is_named(layout):
    assert _program(layout, None).code == "match"
    r = _program(layout, "transposed")
    assert r.codes() == ["transposed"], r.render()
    assert "transpose it back" in r.findings[0].hint


def test_another_bug_in_it_is_not_read_as_a_transpose():
    r = _program("in_out", "scaled")
    assert r.code == "implementation_bug" and "transposed" not in r.codes(), r.render()
