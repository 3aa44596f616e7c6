"""Nesterov momentum in Bengio et al.'s form, ``w += mu^2 v - (1 + mu) lr g`` then
``v = mu v - lr g``, is PyTorch's ``nesterov=True``; Deep Learning from Scratch's Nesterov
class updates v first and takes the look-ahead from the new velocity (review s31 F4: "no
known sgd variant", its step 1 is (1 + mu + mu^2) lr g)."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients, from_step

MU, LR = 0.9, 0.05


class Net:
    def __init__(self, v_first: bool, one_minus: bool = False):
        r = np.random.RandomState(0)
        self.P = {"W1": 0.5 * r.randn(3, 6), "b1": 0.1 * r.randn(6),
                  "W2": 0.5 * r.randn(6, 1), "b2": np.zeros(1)}  # fmt: skip
        self.v = {k: np.zeros_like(p) for k, p in self.P.items()}
        self.v_first, self.last, self.one_minus = v_first, None, one_minus

    def grads(self, X, y):
        P = self.P
        h = np.tanh(X @ P["W1"] + P["b1"])
        d = 2 * (h @ P["W2"] + P["b2"] - y) / y.size
        dh = d @ P["W2"].T * (1 - h**2)
        self.last = {"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ d, "b2": d.sum(0)}
        return self.last

    def update(self, g):
        for k, p in self.P.items():
            if self.v_first:  # deep-learning-from-scratch common/optimizer.py, Nesterov
                self.v[k] *= MU
                self.v[k] -= LR * g[k]
            p += MU * MU * self.v[k]
            p -= (1 - MU if self.one_minus else 1 + MU) * LR * g[k]
            if not self.v_first:
                self.v[k] *= MU
                self.v[k] -= LR * g[k]


@pytest.mark.parametrize("style", ["step", "gradients"])
@pytest.mark.parametrize("v_first", [False, True])
def test_bengio_s_form_matches_and_the_velocity_updated_first_is_named(style, v_first):
    net = Net(v_first)
    kw = dict(sizes=[3, 6, 1], activations="tanh,identity", loss="mse", optimizer="sgd",
              lr=LR, momentum=MU, nesterov=True)  # fmt: skip
    if style == "step":
        a = from_step(net.P, list(net.P), lambda X, y: net.update(net.grads(X, y)), **kw)
    else:
        a = from_gradients(net.P, list(net.P), net.grads,
                           step=lambda X, y: net.update(net.last), **kw)  # fmt: skip
    r = np.random.RandomState(1)
    X = r.randn(24, 3)
    res = check(a, X, np.sin(X[:, :1]), steps=4, probe=False)
    if not v_first:
        assert res.code == "match", res.render()
        return
    f = res.findings[0]
    assert res.code == "implementation_bug" and f.code == "optimizer_update_mismatch"
    assert "look-ahead mu^2 v taken from the velocity already updated" in f.evidence, res.render()
    assert "move w before v" in f.hint, res.render()


def test_one_factor_on_every_parameter_of_a_hidden_step_is_said_once():
    """Review s32 F7: (1 - mu) written for (1 + mu) behind from_step was four unexplained
    gradients, each told to print a finite difference."""
    net = Net(False, one_minus=True)
    kw = dict(sizes=[3, 6, 1], activations="tanh,identity", loss="mse", optimizer="sgd",
              lr=LR, momentum=MU, nesterov=True)  # fmt: skip
    a = from_step(net.P, list(net.P), lambda X, y: net.update(net.grads(X, y)), **kw)
    r = np.random.RandomState(1)
    X = r.randn(24, 3)
    res = check(a, X, np.sin(X[:, :1]), steps=3, probe=False)
    f = res.findings[0]
    assert len(res.findings) == 1 and f.params == ("W1", "b1", "W2", "b2"), res.render()
    assert f"c = {(1 - MU) / (1 + MU):.6g} times PyTorch's" in f.evidence, res.render()
    assert "the same factor on every layer" in f.evidence and "finite" not in f.hint
