"""Fixes that say what to change in the code as written (review s24b): sigma' written after
(a - y) under binary cross-entropy is removed, not "applied exactly once" (F4); a bias summed
over every axis keeps the 1/m its dW has (F7)."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients

NAMES = ["W1", "b1", "W2", "b2"]


def _run(out_act, loss, dz_of, bias_sum=None):
    r = np.random.RandomState(6)
    P = {"W1": r.randn(2, 5) * 0.8, "b1": np.zeros(5), "W2": r.randn(5, 1) * 0.8, "b2": np.zeros(1)}
    X = r.randn(20, 2)
    y = (X[:, :1] * X[:, 1:] > 0).astype(float)
    f = {"sigmoid": lambda z: 1 / (1 + np.exp(-z)), "tanh": np.tanh}[out_act]

    def grads(X, y):
        h = np.tanh(X @ P["W1"] + P["b1"])
        a = f(h @ P["W2"] + P["b2"])
        dz = dz_of(a, y) / len(X)
        dh = dz @ P["W2"].T * (1 - h**2)
        db1 = dh.sum(0) if bias_sum is None else bias_sum(dh)
        return {"W1": X.T @ dh, "b1": db1, "W2": h.T @ dz, "b2": dz.sum(0)}

    a = from_gradients(P, NAMES, grads, sizes=[2, 5, 1], activations=f"tanh,{out_act}",
                       loss=loss, optimizer="sgd", lr=0.1)  # fmt: skip
    return check(a, X, y, steps=2, probe=False)


def test_sigma_prime_after_a_minus_y_under_bce_is_removed():
    r = _run("sigmoid", "bce", lambda a, y: (a - y) * a * (1 - a))
    f = r.findings[0]
    assert f.code == "derivative_of_output", r.render()
    assert "remove the a * (1 - a) factor" in f.hint and "exactly once" not in f.hint


def test_a_derivative_truly_applied_twice_keeps_its_fix():
    """tanh output under mse: (a - y) * (1 - a^2)^2 is tanh' twice."""
    r = _run("tanh", "half_sse", lambda a, y: (a - y) * (1 - a**2) ** 2)
    f = r.findings[0]
    assert f.code == "derivative_of_output", r.render()
    assert "exactly once" in f.hint and "remove the a * (1 - a)" not in f.hint


@pytest.mark.parametrize("total", [lambda dh: np.sum(dh)], ids=["no_axis"])
def test_a_bias_summed_over_every_axis_keeps_the_scaling(total):
    r = _run("tanh", "half_sse", lambda a, y: (a - y) * (1 - a**2), bias_sum=total)
    f = next(f for f in r.findings if f.code == "bias_reduction")
    assert "1/m included where it has one" in f.hint, r.render()


def test_a_derivative_of_the_output_says_the_cache_overwritten_in_place_too():
    """Review s36 F5: a tanh layer computing in place (np.tanh(z, out=z)) overwrites the z its
    backward reads: the gradients are tanh'(a), and the fix names the in-place write."""
    r = np.random.RandomState(0)
    P = {"W1": r.randn(2, 5) * 0.5, "b1": np.zeros(5), "W2": r.randn(5, 1) * 0.5, "b2": np.zeros(1)}
    X = np.linspace(-1, 1, 20).reshape(-1, 2)
    y = X[:, :1] * X[:, 1:] + 0.3

    def grads(X, y):
        z = X @ P["W1"] + P["b1"]
        cache = z
        h = np.tanh(z, out=z)  # the cache is now tanh(z)
        d = 2 * (h @ P["W2"] + P["b2"] - y) / y.size
        dh = d @ P["W2"].T * (1 - np.tanh(cache) ** 2)
        return {"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ d, "b2": d.sum(0)}

    a = from_gradients(P, NAMES, grads, sizes=[2, 5, 1], activations="tanh,identity",
                       loss="mse", optimizer="sgd", lr=0.1)  # fmt: skip
    res = check(a, X, y, steps=3, probe=False)
    f = next(f for f in res.findings if f.code == "derivative_of_output")
    assert "overwritten by f(z) in place" in f.hint and "np.tanh(z, out=z)" in f.hint, f.hint
