"""Each layer dividing its gradients by the count of its inputs (deeplearning.ai's
``m = A_prev.shape[0]`` in column-major code, ``A_prev.shape[1]`` in row-major) where the
batch's rows belong: one ``scale_factor`` naming the slip (review s45 F4: one unnamed factor
per layer, one of them called a width); each layer by the batch's rows matches."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients

SIZES = [7, 5, 4, 1]


def _learner(bug):
    r = np.random.RandomState(0)
    P = {}
    for l in range(1, 4):
        P[f"W{l}"] = r.randn(SIZES[l - 1], SIZES[l]) * 0.5
        P[f"b{l}"] = np.zeros(SIZES[l])

    def grads(X, y):
        A = [X]
        for l in range(1, 4):
            z = A[-1] @ P[f"W{l}"] + P[f"b{l}"]
            A.append(np.tanh(z) if l < 3 else 1 / (1 + np.exp(-z)))
        dz, g = A[3] - y, {}
        for l in range(3, 0, -1):
            m = A[l - 1].shape[1] if bug else A[l - 1].shape[0]  # the slip: the layer's inputs
            g[f"W{l}"], g[f"b{l}"] = A[l - 1].T @ dz / m, dz.sum(0) / m
            dz = dz @ P[f"W{l}"].T * (1 - A[l - 1] ** 2) if l > 1 else dz
        return g

    return from_gradients(P, list(P), grads, sizes=SIZES, activations="tanh,tanh,sigmoid",
                          loss="bce", optimizer="sgd", lr=0.1)  # fmt: skip


@pytest.mark.parametrize("bug", [False, True])
def test_each_layer_divided_by_its_inputs_is_one_finding(bug):
    r = np.random.RandomState(1)
    X = r.randn(30, 7)
    y = (X[:, :1] > 0).astype(float)
    res = check(_learner(bug), X, y, steps=3, probe=False)
    if not bug:
        assert res.code == "match", res.render()
        return
    (f,) = res.findings
    assert f.code == "scale_factor" and "30/7 on layer 1, 30/5 on layer 2" in f.evidence, (
        res.render()
    )
    assert "A_prev.shape[1]" in f.hint, res.render()
