"""A derivative read from another layer's cache when that layer has one unit (the blog network's
sigmoid_derivative(self.output)): broadcast over the layer, named wrong_cached_activation."""

import numpy as np

from nnparity.reference.learner import check, from_gradients


def test_a_hidden_derivative_read_off_a_one_unit_output_is_wrong_cached_activation():
    """Review s6c (the blog network): sigmoid_derivative(self.output), (N, 1), broadcast over
    the hidden layer's units in place of its own."""
    r = np.random.RandomState(1)
    P = {"w1": r.randn(3, 4), "w2": r.randn(4, 1)}
    X, y = r.randn(8, 3), r.rand(8, 1)

    def grads(X, y):
        h = 1 / (1 + np.exp(-X @ P["w1"]))
        out = 1 / (1 + np.exp(-h @ P["w2"]))
        d2 = 2 * (out - y) * out * (1 - out) / len(X)
        d1 = d2 @ P["w2"].T * out * (1 - out)  # the bug: the output's derivative
        return {"w1": X.T @ d1, "w2": h.T @ d2}

    a = from_gradients(P, ["['w1']", "['w2']"], grads, sizes=[3, 4, 1], bias="none",
                       activations="sigmoid,sigmoid", loss="mse", lr=0.5)  # fmt: skip
    res = check(a, X, y, steps=3, probe=False)
    assert res.codes() == ["wrong_cached_activation"], res.render()
    assert "layer 2's cached z" in res.findings[0].evidence
