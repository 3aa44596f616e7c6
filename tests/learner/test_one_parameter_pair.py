"""A model of one parameter whose gradient function returns (loss, dW), CS231n's
``svm_loss_vectorized``: the pair is the loss beside the one gradient (review s42a F5: it was
refused as "1 arrays ... got 2"); with a gradient of the wrong scale it is still a bug."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients

REG = 2.5e-3


def svm_loss_vectorized(W, X, y, reg, scale=1.0):
    n = X.shape[0]
    scores = X.dot(W)
    margins = np.maximum(0, scores - scores[np.arange(n), y].reshape(-1, 1) + 1)
    margins[np.arange(n), y] = 0
    loss = np.sum(margins) / n + reg * np.sum(W * W)
    binary = (margins > 0).astype(float)
    binary[np.arange(n), y] = -binary.sum(1)
    return loss, scale * X.T.dot(binary) / n + 2 * reg * W


@pytest.mark.parametrize(("scale", "code"), [(1.0, "match"), (2.0, "implementation_bug")])
@pytest.mark.parametrize("order", ["loss_first", "grad_first"])
def test_loss_and_the_one_gradient(scale, code, order):
    r = np.random.RandomState(0)
    X, y = r.randn(24, 5), r.randint(0, 3, 24)
    W = 0.001 * r.randn(5, 3)

    def grads(Xb, yb):
        loss, dW = svm_loss_vectorized(W, Xb, yb, REG, scale)
        return (loss, dW) if order == "loss_first" else (dW, loss)

    a = from_gradients({"W": W}, ["W"], grads, forward=lambda Xb: Xb.dot(W), sizes=[5, 3],
                       activations="identity", bias="none", loss="multi_margin",
                       reduction="batch", l2=2 * REG, optimizer="sgd", lr=0.1)  # fmt: skip
    res = check(a, X, y, steps=3, probe=False)
    assert res.code == code, res.render()


def test_a_two_parameter_model_returning_loss_and_dw_is_told_its_loss_is_read_as_db():
    """Review s44 F5: W (3, 1) and b (1,) with (loss, dW) returned, db forgotten: the loss was
    read as db, an unexplained c = 5.03 on b whose fix pointed at b's own line."""
    r = np.random.RandomState(0)
    X, y = r.randn(20, 3), r.randn(20, 1)
    P = {"W": 0.1 * r.randn(3, 1), "b": np.zeros(1)}

    def grads(Xb, yb):
        d = Xb @ P["W"] + P["b"] - yb
        return float((d**2).mean()), 2 * Xb.T @ d / len(yb)  # db forgotten

    a = from_gradients(P, ["W", "b"], grads, sizes=[3, 1], activations="identity", loss="mse",
                       optimizer="sgd", lr=0.1)  # fmt: skip
    res = check(a, X, y, steps=3, probe=False)
    assert res.code == "implementation_bug", res.render()
    assert "is the loss value" in res.findings[0].evidence, res.render()
