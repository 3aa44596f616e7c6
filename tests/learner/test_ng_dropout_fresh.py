"""Ng's dropout (deeplearning.ai, samples as columns) with a fresh mask drawn in backward: its
ReLU derivative is read off the dropped output (dZ1 = dA1 * (A1 > 0), A1 after dropout), so
the forward's mask stays in dx beside the fresh one. Review s28 r19: a generic layer_mismatch,
with the masks replayed; named ``dropout_mask`` now. Both ways: the same program with the
forward's mask reused matches."""

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients

KEEP = 0.8


def _program(fresh: bool):
    rng = np.random.RandomState(3)
    P = {"W1": rng.randn(12, 2) / np.sqrt(2), "b1": np.zeros((12, 1)),
         "W2": rng.randn(1, 12) / np.sqrt(12), "b2": np.zeros((1, 1))}  # fmt: skip

    def grads(X, Y):
        X, Y = X.T, Y.T
        m = X.shape[1]
        Z1 = P["W1"] @ X + P["b1"]
        A1 = np.maximum(0, Z1)
        D1 = (np.random.rand(*A1.shape) < KEEP).astype(int)
        A1 = A1 * D1 / KEEP
        A2 = 1 / (1 + np.exp(-(P["W2"] @ A1 + P["b2"])))
        cost = -np.mean(Y * np.log(A2) + (1 - Y) * np.log(1 - A2))
        dZ2 = A2 - Y
        dA1 = P["W2"].T @ dZ2
        if fresh:  # the bug: a new mask where the cache's D1 belongs
            D1 = (np.random.rand(*A1.shape) < KEEP).astype(int)
        dA1 = dA1 * D1 / KEEP
        dZ1 = dA1 * (A1 > 0)
        return cost, {"W1": dZ1 @ X.T / m, "b1": dZ1.sum(1, keepdims=True) / m,
                      "W2": dZ2 @ A1.T / m, "b2": dZ2.sum(1, keepdims=True) / m}  # fmt: skip

    return from_gradients(P, ["W1", "b1", "W2", "b2"], grads,
                          spec="2 dense(12) relu dropout(0.2) dense(1) sigmoid loss=bce",
                          optimizer="sgd", lr=0.3)  # fmt: skip


@pytest.mark.parametrize("fresh", [False, True])
def test_a_fresh_mask_beside_the_forwards_is_named(fresh):
    np.random.seed(1)
    X = np.random.randn(40, 2)
    Y = ((X**2).sum(1, keepdims=True) < 1.2).astype(float)
    r = check(_program(fresh), X, Y, steps=2, probe=False)
    if not fresh:
        assert r.code == "match", r.render()
        return
    assert r.code == "implementation_bug", r.render()
    f = r.findings[0]
    assert f.code == "dropout_mask" and "fresh mask" in f.evidence, r.render()
    assert "forward's stays too" in f.evidence, r.render()
