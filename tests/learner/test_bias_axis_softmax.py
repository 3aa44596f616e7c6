"""A bias gradient summed over the units where the batch is as wide as the layer (samples as
columns, ``np.sum(dZ, axis=0)``): at a softmax output under cross-entropy each sample's dz sums
to 0 over the classes, so the output bias's wrong sum is 0, and was left unexplained while the
layer below, the same line, was named (review s20a, t43). Where another layer's bias shows
that sum, the output's 0 is that sum too."""

from __future__ import annotations

import numpy as np

from nnparity.reference.learner import check, from_gradients


def _adapter(axis: int):
    rng = np.random.RandomState(4)
    P = {"W1": rng.randn(8, 5) * np.sqrt(1 / 5), "b1": np.zeros(8)}
    P |= {"W2": rng.randn(8, 8) * np.sqrt(1 / 8), "b2": np.zeros(8)}

    def fwd(X):  # samples as columns
        Z1 = P["W1"] @ X + P["b1"][:, None]
        A1 = np.maximum(Z1, 0)
        Z2 = P["W2"] @ A1 + P["b2"][:, None]
        E = np.exp(Z2 - Z2.max(axis=0, keepdims=True))
        return Z1, A1, E / E.sum(axis=0, keepdims=True)

    def grads(Xb, yb):
        X, Y = Xb.T, yb.T
        Z1, A1, A2 = fwd(X)
        dZ2 = (A2 - Y) / Y.shape[1]
        dZ1 = P["W2"].T @ dZ2 * (Z1 > 0)
        db1, db2 = np.sum(dZ1, axis=axis), np.sum(dZ2, axis=axis)
        return {"W1": dZ1 @ X.T, "b1": db1, "W2": dZ2 @ A1.T, "b2": db2}

    decl = dict(sizes=[5, 8, 8], activations="relu,softmax", loss="cross_entropy")
    return from_gradients(P, list(P), grads, forward=lambda X: fwd(X.T)[2].T, optimizer="sgd",
                          lr=0.5, batch_size=8, **decl)  # fmt: skip


def _data():
    rng = np.random.RandomState(0)
    labels = rng.randint(0, 8, 40)
    return rng.randn(40, 5) + 0.5 * np.eye(8, 5)[labels], np.eye(8)[labels]


def test_the_output_bias_summed_over_the_classes_is_named_as_the_layer_below():
    res = check(_adapter(0), *_data(), steps=3, watch=0)
    assert res.code == "implementation_bug", res.render()
    named = {f.params[0]: f for f in res.findings if f.code == "bias_reduction"}
    assert set(named) == {"b1", "b2"} and "unexplained_mismatch" not in res.codes(), res.render()
    assert "each sample's dz sums to 0 over the units" in named["b2"].evidence


def test_the_sum_over_the_batch_matches():
    assert check(_adapter(1), *_data(), steps=3, watch=0, probe=False).code == "match"
