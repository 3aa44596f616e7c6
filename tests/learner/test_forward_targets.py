"""A forward-only adapter compares outputs alone: targets given beside it are not read, so
class labels with no loss declared are not held to mse's shape (review s19b: a blog's softmax
network with ``data=(X, labels)`` was refused, "y has shape (4,); mse takes (4, 2)")."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_forward


@pytest.mark.parametrize("axis", [1, None])
def test_labels_beside_a_forward_adapter_are_not_read(axis):
    r = np.random.default_rng(0)
    P = {"W1": r.normal(size=(2, 3)), "b1": np.zeros(3), "W2": r.normal(size=(3, 2)),
         "b2": np.zeros(2)}  # fmt: skip

    def forward(X):
        z = np.tanh(X @ P["W1"] + P["b1"]) @ P["W2"] + P["b2"]
        e = np.exp(z - z.max())
        return e / e.sum(axis=axis, keepdims=True)

    adapter = from_forward(P, list(P), forward, sizes=[2, 3, 2], activations="tanh,softmax")
    res = check(adapter, r.normal(size=(4, 2)), np.array([0, 1, 1, 0]), steps=2)
    if axis == 1:
        assert res.code == "match", res.render()
    else:
        assert res.codes() == ["softmax_axis"], res.render()
    assert res.training.outcome == "not_assessed"
