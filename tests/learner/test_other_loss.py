"""A learner whose loss value and gradients are both another loss's than the declared one (mse
code under a declared bce) is told the declaration differs, with the loss that takes its
steps (review s9c: two backward bugs were named, sigma' twice and a factor 2); a real backward
bug under the right declaration is still named as one."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients


def _net(code_loss: str, declared: str, bug: str | None = None, loss_shown: bool = True):
    r = np.random.default_rng(6)
    X = r.normal(size=(24, 3))
    y = (X[:, :1] + X[:, 1:2] > 0).astype(float)
    P = {"W1": r.normal(0, 0.5, (3, 5)), "b1": np.zeros(5), "W2": r.normal(0, 0.5, (5, 1)),
         "b2": np.zeros(1)}  # fmt: skip

    def grads(X, y):
        h = np.tanh(X @ P["W1"] + P["b1"])
        a = 1 / (1 + np.exp(-(h @ P["W2"] + P["b2"])))
        if code_loss == "mse":
            loss = float(np.mean((a - y) ** 2))
            dz = 2 * (a - y) / y.size * a * (1 - a)
        else:
            loss = float(-np.mean(y * np.log(a) + (1 - y) * np.log(1 - a)))
            dz = (a - y) / y.size * (a * (1 - a) if bug == "sigma_twice" else 1.0)
        dh = dz @ P["W2"].T * (1 - h**2)
        g = [X.T @ dh, dh.sum(0), h.T @ dz, dz.sum(0)]
        return (loss, g) if loss_shown else g

    a = from_gradients(P, list(P), grads, sizes=[3, 5, 1], activations="tanh,sigmoid",
                       loss=declared, lr=0.1)  # fmt: skip
    return a, X, y


@pytest.mark.parametrize(
    ("code_loss", "declared", "bug", "want"),
    [
        ("mse", "bce", None, "loss_declaration"),
        ("bce", "mse", None, "loss_declaration"),
        ("mse", "mse", None, "match"),
        ("bce", "bce", "sigma_twice", "derivative_of_output"),
    ],
)
def test_a_consistent_code_under_another_declared_loss_is_named_as_such(
    code_loss, declared, bug, want
):
    a, X, y = _net(code_loss, declared, bug)
    r = check(a, X, y, steps=3, probe=False)
    if want == "match":
        assert r.code == "match", r.render()
        return
    assert r.code == "implementation_bug" and r.codes()[0] == want, r.render()
    if want == "loss_declaration":
        assert f"declare loss='{code_loss}'" in r.findings[0].hint, r.render()


def test_gradients_alone_with_sigma_twice_stay_a_derivative_slip():
    """sigma' applied twice under bce is exactly half_sse's gradient: with no loss value to
    tell them apart, the common slip is named, not another loss (review s8a's Ng program)."""
    a, X, y = _net("bce", "bce", "sigma_twice", loss_shown=False)
    r = check(a, X, y, steps=3, probe=False)
    assert r.codes()[0] == "derivative_of_output", r.render()
