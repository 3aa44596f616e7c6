"""A bias gradient summed over the units where the batch has as many samples as the layer has
units is named without axis numbers that a samples-as-columns network reads the other way:
review s11 found 'the units (axis 1) instead of the batch (axis 0)' beside a first finding
that said axis 0 for the units (deeplearning.ai's layout)."""

from __future__ import annotations

import numpy as np

from nnparity.reference.learner import check, from_gradients


def test_a_bias_summed_over_the_units_in_a_columns_net_names_no_contradicting_axes():
    np.random.seed(4)
    p = {"W1": np.random.randn(6, 3) * 0.5, "b1": np.zeros((6, 1)),
         "W2": np.random.randn(4, 6) * 0.5, "b2": np.zeros((4, 1))}  # fmt: skip
    rng = np.random.RandomState(9)
    X = rng.randn(3, 6)  # samples as columns: a batch of 6 against 6 hidden units
    Y = np.eye(4)[(X[0] > 0).astype(int) * 2 + (X[1] > 0).astype(int)].T

    def grads(X, Y):
        m = X.shape[1]
        Z1 = p["W1"] @ X + p["b1"]
        A1 = np.maximum(0, Z1)
        e = np.exp(p["W2"] @ A1 + p["b2"])
        dZ2 = e / e.sum(0, keepdims=True) - Y
        dZ1 = (p["W2"].T @ dZ2) * (Z1 > 0)
        db1 = np.sum(dZ1, axis=0).reshape(-1, 1) / m  # the bug: over the units
        return [dZ1 @ X.T / m, db1, dZ2 @ A1.T / m, dZ2.sum(1, keepdims=True) / m]

    a = from_gradients(p, ["W1", "b1", "W2", "b2"], lambda X, y: grads(X.T, y.T),
                       sizes=[3, 6, 4], activations="relu,softmax", loss="cross_entropy",
                       layout="out_in", lr=0.5)  # fmt: skip
    res = check(a, X.T, Y.T, steps=1, probe=False)
    assert res.code == "implementation_bug", res.render()
    bias = [f for f in res.findings if f.code == "bias_reduction"]
    assert bias, res.render()
    assert not any("(axis 1) instead of the batch (axis 0)" in f.evidence for f in bias)
    assert any("summed over the units" in f.evidence for f in bias), res.render()


def test_a_named_form_says_its_fit_is_against_the_form_not_pytorch():
    """Review s15b: "averaged over the batch instead of summed: c = 1.0000" beside the table's
    c = 0.0625 for the same gradient read as a contradiction: the finding's c is against the
    form it names, and says so."""
    r = np.random.RandomState(2)
    p = {"W1": r.randn(3, 5) * 0.5, "b1": np.zeros(5), "W2": r.randn(5, 1) * 0.5,
         "b2": np.zeros(1)}  # fmt: skip
    X, y = r.randn(16, 3), r.randn(16, 1)

    def grads(X, y):
        h = np.tanh(X @ p["W1"] + p["b1"])
        d = 2 * (h @ p["W2"] + p["b2"] - y) / y.size
        dz = d @ p["W2"].T * (1 - h**2)
        return [X.T @ dz, dz.mean(0), h.T @ d, d.sum(0)]  # db1 averaged: the bug

    a = from_gradients(p, list(p), grads, sizes=[3, 5, 1], activations="tanh,identity",
                       loss="mse", lr=0.1)  # fmt: skip
    f = check(a, X, y, steps=2, probe=False).findings[0]
    assert f.code == "bias_reduction", f
    assert "your gradient is that form's (c = 1.0000, cos = 1.0000 against it)" in f.evidence
