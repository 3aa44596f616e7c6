"""``l2_bias``: an L2 penalty on the biases too (review s14: nnfs's own chapter-14 example,
weight_regularizer_l2 and bias_regularizer_l2 both 5e-4, was a regularization_mismatch whose
fix said the twin could not declare it). The loss gains l2_bias/2 sum b^2, each bias gradient
l2_bias b; nnfs's lambda is l2_bias = 2 lambda."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients, from_step
from nnparity.reference.learner.paths import LearnerError

NAMES = ["W1", "b1", "W2", "b2"]
LAM = 5e-4  # nnfs's weight_regularizer_l2 and bias_regularizer_l2


class Net:
    def __init__(self, on_biases: bool, in_update: bool = False):
        r = np.random.RandomState(0)
        self.W1, self.b1 = 0.5 * r.randn(3, 8), 0.5 * r.randn(8)
        self.W2, self.b2 = 0.5 * r.randn(8, 2), 0.5 * r.randn(2)
        self.on_biases, self.in_update = on_biases, in_update

    def loss_and_grads(self, X, y):
        h = np.maximum(X @ self.W1 + self.b1, 0)
        out = h @ self.W2 + self.b2
        d = 2 * (out - y) / y.size
        dz = d @ self.W2.T * (h > 0)
        g = {"W1": X.T @ dz, "b1": dz.sum(0), "W2": h.T @ d, "b2": d.sum(0)}
        loss = float(((out - y) ** 2).mean())
        if not self.in_update:
            for k in NAMES:
                if k[0] == "W" or self.on_biases:
                    g[k] = g[k] + 2 * LAM * getattr(self, k)
                    loss += LAM * float((getattr(self, k) ** 2).sum())
        return loss, g

    def step(self, X, y):
        _, g = self.loss_and_grads(X, y)
        for k in NAMES:
            p = getattr(self, k)
            if self.in_update and (k[0] == "W" or self.on_biases):
                p *= 1 - 0.05 * 2 * LAM
            p -= 0.05 * g[k]


def _data():
    r = np.random.RandomState(1)
    X = r.randn(20, 3)
    return X, np.c_[np.sin(X[:, 0]), X[:, 1] * X[:, 2]]


def _adapter(net: Net, **decl):
    base = dict(sizes=[3, 8, 2], activations="relu,identity", loss="mse", optimizer="sgd",
                lr=0.05, l2=2 * LAM)  # fmt: skip
    if net.in_update:
        return from_step(net, NAMES, net.step, l2_in="update", **(base | decl))
    return from_gradients(net, NAMES, net.loss_and_grads, step=net.step, **(base | decl))


@pytest.mark.parametrize("in_update", [False, True])
def test_biases_regularised_and_declared_match(in_update):
    r = check(_adapter(Net(True, in_update), l2_bias=2 * LAM), *_data(), steps=3, probe=False)
    assert r.code == "match", r.render()
    assert "l2_bias=0.001" in r.spec, r.render()


def test_undeclared_bias_penalty_names_the_declaration():
    r = check(_adapter(Net(True)), *_data(), steps=3, probe=False)
    assert r.codes() == ["regularization_mismatch"], r.render()
    assert "declare l2_bias=0.001" in r.findings[0].hint, r.render()


def test_a_declared_bias_penalty_the_program_lacks_is_said():
    r = check(_adapter(Net(False), l2_bias=2 * LAM), *_data(), steps=3, probe=False)
    assert r.codes() == ["regularization_mismatch"], r.render()
    assert "take no L2 penalty, where l2_bias=0.001 is declared" in r.findings[0].evidence


def test_a_negative_l2_bias_is_refused_with_its_meaning():
    with pytest.raises(LearnerError, match="l2_bias must be a number >= 0"):
        _adapter(Net(True), l2_bias=-1.0)


def test_numpy_scalar_declarations_are_numbers():
    """Review s19b: ``lr=np.float32(...)`` and an ``l2`` held as a NumPy scalar are numbers."""
    r = check(_adapter(Net(True), l2_bias=np.float32(2 * LAM)), *_data(), steps=2, probe=False)
    assert r.code == "match", r.render()
    with pytest.raises(LearnerError, match="l2_bias must be a number >= 0"):
        _adapter(Net(True), l2_bias=np.bool_(True))
