"""The activation's derivative left out of one weight's line while its bias's line keeps it
(Real Python's per-weight chain, review s20a t25) was "unexplained_mismatch"; it is
``wrong_activation_derivative`` at that layer, at the output and the layer below it."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients


def _adapter(bug: str):
    r = np.random.RandomState(3)
    P = {"W1": r.randn(3, 4), "b1": np.zeros(4), "W2": r.randn(4, 1), "b2": np.zeros(1)}
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731

    def grads(X, y):
        a1 = sig(X @ P["W1"] + P["b1"])
        a2 = sig(a1 @ P["W2"] + P["b2"])
        da2 = 2 * (a2 - y) / len(X)
        dz2 = da2 * a2 * (1 - a2)
        da1 = dz2 @ P["W2"].T
        dz1 = da1 * a1 * (1 - a1)
        dW2 = a1.T @ (da2 if bug == "W2" else dz2)
        dW1 = X.T @ (da1 if bug == "W1" else dz1)
        db1 = (da1 if bug == "b1" else dz1).sum(0)
        db2 = (da2 if bug == "b2" else dz2).sum(0)
        if bug == "b2 row":  # the line of the weight from hidden unit 0, copied for the bias
            db2 = (a1[:, :1] * dz2).sum(0)
        return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}

    decl = dict(sizes=[3, 4, 1], activations="sigmoid,sigmoid", loss="mse", optimizer="sgd")
    return from_gradients(P, list(P), grads, lr=0.5, **decl)


def _data():
    r = np.random.RandomState(0)
    X = r.randn(12, 3)
    return X, (X[:, :1] > 0).astype(float)


@pytest.mark.parametrize("bug, layer", [("W2", 2), ("W1", 1), ("b2", 2), ("b1", 1)])
def test_a_weight_line_without_the_derivative_is_named_at_its_layer(bug, layer):
    """Also a bias's line alone (review s28 b06: db1 summed before the ReLU mask)."""
    res = check(_adapter(bug), *_data(), steps=3, watch=0)
    assert res.code == "implementation_bug", res.render()
    f = res.findings[0]
    assert (f.code, f.params, f.layer) == ("wrong_activation_derivative", (bug,), layer)
    assert f"without the activation's derivative f'(z{layer})" in f.evidence, res.render()


def test_a_bias_line_copied_from_a_weights_is_named():
    """Review s28 f07: Victor Zhou's d_ypred_d_b3 = h1 * deriv_sigmoid(sum_o1), an input where
    the bias's 1 belongs: one row of the weight's gradient."""
    res = check(_adapter("b2 row"), *_data(), steps=3, watch=0, probe=False)
    f = res.findings[0]
    assert (f.code, f.params, f.layer) == ("wrong_cached_activation", ("b2",), 2), res.render()
    assert "W2's row 0" in f.evidence, res.render()


def test_both_lines_with_the_derivative_match():
    assert check(_adapter(""), *_data(), steps=3, watch=0, probe=False).code == "match"
