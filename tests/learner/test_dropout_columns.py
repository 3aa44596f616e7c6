"""Inverted dropout as deeplearning.ai's course writes it, samples as columns: each mask drawn
``np.random.rand(A.shape[0], A.shape[1]) < keep_prob``, (units, samples), from NumPy's global
generator. Its replay is that draw transposed: a correct program matches, a missing 1/keep is
named (review s8a: exit 2, "the masks could not be recovered")."""

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients

KEEP = 0.86


def _adapter(keep_div: bool):
    rng = np.random.RandomState(3)
    P = {}
    for l, (i, o) in enumerate([(2, 8), (8, 6), (6, 1)], start=1):
        P[f"W{l}"], P[f"b{l}"] = rng.randn(o, i) / np.sqrt(i), np.zeros((o, 1))

    def grads(X, y):
        X, Y = X.T, y.T
        m = X.shape[1]
        A = [X]
        D = []
        for l in (1, 2):
            a = np.maximum(0, P[f"W{l}"] @ A[-1] + P[f"b{l}"])
            d = (np.random.rand(a.shape[0], a.shape[1]) < KEEP).astype(int)
            D.append(d)
            A.append(a * d / KEEP)
        A3 = 1 / (1 + np.exp(-(P["W3"] @ A[2] + P["b3"])))
        cost = float(-np.mean(Y * np.log(A3) + (1 - Y) * np.log(1 - A3)))
        dZ = A3 - Y
        g = {}
        for l in (3, 2, 1):
            g[f"W{l}"] = dZ @ A[l - 1].T / m
            g[f"b{l}"] = dZ.sum(axis=1, keepdims=True) / m
            if l > 1:
                dA = P[f"W{l}"].T @ dZ * D[l - 2]
                dA = dA / KEEP if keep_div else dA
                dZ = dA * (A[l - 1] > 0)
        return cost, g

    spec = (f"2 dense(8) relu dropout({1 - KEEP:.2f}) dense(6) relu dropout({1 - KEEP:.2f}) "
            "dense(1) sigmoid loss=bce opt=sgd(lr=0.3)")  # fmt: skip
    return from_gradients(P, list(P), grads, spec=spec)


@pytest.mark.parametrize("keep_div", [True, False])
def test_masks_drawn_units_by_samples_are_replayed(keep_div):
    np.random.seed(1)
    X = np.random.randn(80, 2)
    y = ((X**2).sum(1) < 1.2).astype(float).reshape(80, 1)
    res = check(_adapter(keep_div), X, y, steps=3, probe=False)
    if keep_div:
        assert res.code == "match", res.render()
        assert "samples as columns" in res.finding("dropout_replayed").evidence
        return
    assert res.codes()[0] == "dropout_mask", res.render()
