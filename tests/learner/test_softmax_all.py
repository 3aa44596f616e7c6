"""A softmax normalised over every entry of the batch at once, ``np.exp(Z) / np.sum(np.exp(Z))``
(the no-axis slip of a much-copied MNIST-from-scratch video), is named ``softmax_axis``; over
each sample's classes it matches (review s8a)."""

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients


def _adapter(over: str, **kw):
    r = np.random.RandomState(0)
    P = {"W1": r.rand(6, 8) - 0.5, "b1": r.rand(6, 1) - 0.5,
         "W2": r.rand(4, 6) - 0.5, "b2": r.rand(4, 1) - 0.5}  # fmt: skip

    def softmax(Z):
        e = np.exp(Z)
        return e / (e.sum() if over == "all" else e.sum(axis=0))

    def forward(X):
        A1 = np.maximum(P["W1"] @ X.T + P["b1"], 0)
        return A1, softmax(P["W2"] @ A1 + P["b2"])

    def grads(X, y):
        A1, A2 = forward(X)
        m = X.shape[0]
        dZ2 = A2 - np.eye(4)[y].T
        dZ1 = P["W2"].T @ dZ2 * (A1 > 0)
        return {"W1": dZ1 @ X / m, "b1": dZ1.sum(axis=1, keepdims=True) / m,
                "W2": dZ2 @ A1.T / m, "b2": dZ2.sum(axis=1, keepdims=True) / m}  # fmt: skip

    return from_gradients(P, list(P), grads, forward=lambda X: forward(X)[1].T,
                          sizes=[8, 6, 4], activations="relu,softmax", loss="cross_entropy",
                          optimizer="sgd", lr=0.1, layout="out_in", **kw)  # fmt: skip


@pytest.mark.parametrize("batch_size", [None, 1])
@pytest.mark.parametrize("over", ["classes", "all"])
def test_a_softmax_over_every_entry_is_softmax_axis(over, batch_size):
    """Also where every step hands one row (batch_size=1): the forward then runs once on the
    data's rows at once (review s8b: it matched)."""
    r = np.random.RandomState(1)
    X, y = r.randn(20, 8), r.randint(0, 4, 20)
    res = check(_adapter(over, batch_size=batch_size), X, y, steps=3, probe=False)
    if over == "classes":
        assert res.code == "match", res.render()
        return
    f = res.findings[0]
    assert f.code == "softmax_axis", res.render()
    assert "over every entry of the batch at once" in f.evidence
    assert ("on 20 rows at once" in f.evidence) == (batch_size == 1), f.evidence
