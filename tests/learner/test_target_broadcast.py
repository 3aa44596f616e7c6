"""A target vector (N,) meeting an (N, 1) output: ``out - y`` is (N, N), and a reduction over
its second axis gives every parameter its right shape, so no shape check sees it (review s9c:
it was ``unexplained_mismatch`` whose hint said "b2 agrees, so dz2 is right", which is false:
only dz2's column sum is right). Named now as ``broadcast_shape`` by a candidate that holds
every output to the mean target; the same net with ``y.reshape(-1, 1)`` matches."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients


def _net(loss: str, reduce: str | None):
    r = np.random.default_rng(4)
    P = {"W1": r.normal(0, 0.6, (3, 6)), "b1": np.zeros(6), "W2": r.normal(0, 0.6, (6, 1)),
         "b2": np.zeros(1)}  # fmt: skip
    X = r.normal(size=(24, 3))
    if loss == "mse":
        y = X @ np.array([1.0, -2.0, 0.5]) + 0.3
    else:
        y = (X[:, 0] + X[:, 1] > 0).astype(float)

    def grads(X, y):
        h = np.tanh(X @ P["W1"] + P["b1"])
        out = h @ P["W2"] + P["b2"]
        if loss == "bce":
            out = 1 / (1 + np.exp(-out))
        diff = out - (y.reshape(-1, 1) if reduce is None else y)  # (N, N) when y is (N,)
        if reduce == "mean":
            diff = diff.mean(axis=1, keepdims=True)
        elif reduce == "sum":
            diff = diff.sum(axis=1, keepdims=True) / len(y)
        elif reduce == "sum_raw":  # N times the mean: the factor is the same bug's
            diff = diff.sum(axis=1, keepdims=True)
        dz = diff * (2 if loss == "mse" else 1) / len(X)
        dh = dz @ P["W2"].T * (1 - h**2)
        return [X.T @ dh, dh.sum(0), h.T @ dz, dz.sum(0)]

    acts = "tanh,identity" if loss == "mse" else "tanh,sigmoid"
    a = from_gradients(P, list(P), grads, sizes=[3, 6, 1], activations=acts, loss=loss,
                       lr=0.05)  # fmt: skip
    return a, X, y


@pytest.mark.parametrize("loss", ["mse", "bce"])
@pytest.mark.parametrize("reduce", ["mean", "sum", "sum_raw"])
def test_a_target_broadcast_reduced_back_is_named(loss, reduce):
    """Summed over the (N, N) array's axis, not averaged, it is N times the mean target's
    gradient on every layer: one finding that says so (review s18a: a second, scale_factor
    'c = 24 = N' finding stated against the candidate read as against PyTorch)."""
    a, X, y = _net(loss, reduce)
    r = check(a, X, y, steps=3, probe=False)
    assert r.code == "implementation_bug"
    assert r.codes() == ["broadcast_shape"], r.render()
    f = r.findings[0]
    assert ("c = N: the (N, N) array summed" in f.evidence) == (reduce == "sum_raw")
    assert f.code == "broadcast_shape" and f.layer == 2, r.findings
    assert "y.reshape(-1, 1)" in f.hint
    assert not any("is right" in g.evidence for g in r.findings)


@pytest.mark.parametrize("loss", ["mse", "bce"])
def test_the_same_net_with_the_target_reshaped_matches(loss):
    a, X, y = _net(loss, None)
    assert check(a, X, y, steps=3, probe=False).code == "match"
