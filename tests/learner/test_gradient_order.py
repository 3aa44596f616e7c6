"""Gradients returned in another order than the names (backprop order, last layer first) are
named as such when every mismatched gradient is PyTorch's gradient of another parameter;
tested both ways: the right order matches, a gradient returned twice is no permutation."""

import numpy as np
import pytest

from nnparity import check
from nnparity.reference.learner import from_gradients


def _run(order):
    r = np.random.RandomState(0)
    P = [r.randn(4, 4) * 0.5, np.zeros(4), r.randn(4, 4) * 0.5, np.zeros(4)]
    X, Y = r.randn(10, 4), r.randn(10, 4)

    def grads(X, Y):
        W1, b1, W2, b2 = P
        h = np.tanh(X @ W1 + b1)
        do = 2 * (h @ W2 + b2 - Y) / Y.size
        dh = do @ W2.T * (1 - h**2)
        g = {"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ do, "b2": do.sum(0)}
        return [g[k] for k in order]

    a = from_gradients(
        P, [f"[{i}]" for i in range(4)], grads, sizes=[4, 4, 4], activations="tanh,identity",
        loss="mse", optimizer="sgd", lr=0.1, layout="in_out",
    )  # fmt: skip
    return check(a, X, Y, steps=3, probe=False)


def test_gradients_in_the_names_order_match():
    assert _run(["W1", "b1", "W2", "b2"]).code == "match"


def test_gradients_in_backprop_order_are_named_with_the_pairs():
    r = _run(["W2", "b2", "W1", "b1"])
    assert r.codes() == ["gradient_order"], r.render()
    f = r.findings[0]
    assert "[0] holds the gradient of [2]" in f.evidence
    assert "[1] holds the gradient of [3]" in f.evidence
    assert "in the order of the parameter names given to the adapter ([0], [1], [2], [3])" in f.hint


@pytest.mark.parametrize("order", [["W1", "b1", "W1", "b2"], ["W2", "b1", "W2", "b2"]])
def test_a_gradient_returned_twice_is_not_an_order(order):
    r = _run(order)
    assert r.code == "implementation_bug" and "gradient_order" not in r.codes(), r.render()
