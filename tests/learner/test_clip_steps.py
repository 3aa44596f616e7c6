"""A safe log's epsilon inside a step that hides its gradient under Adagrad, RMSprop or Adam
(the nnfs book's classifier handed over as one training iteration, batches of 20): once a
sample saturates its steps are the optimizer's fed with the clipped gradient, which no weight
difference can reveal under an adaptive step; they are read as such, a ``clip_convention``
note (review s42a F3: an ``unexplained_mismatch``). A real update bug beside it is still one."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_step

NAMES = ["W1", "b1", "W2", "b2"]


class Net:
    """2-16-1 relu, sigmoid; nnfs's BCE backward (clipped at 1e-7); Adagrad or Adam written
    out as nnfs's; ``bug``: 'fresh_cache' (Adagrad's cache made anew every step)."""

    def __init__(self, opt="adagrad", bug=None):
        r = np.random.RandomState(0)
        self.P = {"W1": 0.1 * r.randn(2, 16), "b1": np.zeros((1, 16)),
                  "W2": 0.1 * r.randn(16, 1), "b2": np.zeros((1, 1))}  # fmt: skip
        self.opt, self.bug, self.t, self.S, self.M = opt, bug, 0, {}, {}

    def step(self, X, y):
        P = self.P
        h = np.maximum(0, X @ P["W1"] + P["b1"])
        with np.errstate(over="ignore"):
            a = 1 / (1 + np.exp(-(h @ P["W2"] + P["b2"])))
        c = np.clip(a, 1e-7, 1 - 1e-7)
        dz = -(y / c - (1 - y) / (1 - c)) / len(y) * (1 - a) * a
        dh = dz @ P["W2"].T * (h > 0)
        g = {"W1": X.T @ dh, "b1": dh.sum(0, keepdims=True), "W2": h.T @ dz,
             "b2": dz.sum(0, keepdims=True)}  # fmt: skip
        self.t += 1
        for k in NAMES:
            if self.opt == "adagrad":
                if self.bug == "fresh_cache" and self.t > 3:
                    self.S[k] = 0.0
                self.S[k] = self.S.get(k, 0.0) + g[k] ** 2
                P[k] -= 1.0 * g[k] / (np.sqrt(self.S[k]) + 1e-7)
            else:
                self.M[k] = 0.9 * self.M.get(k, 0.0) + 0.1 * g[k]
                self.S[k] = 0.999 * self.S.get(k, 0.0) + 0.001 * g[k] ** 2
                mh, vh = self.M[k] / (1 - 0.9**self.t), self.S[k] / (1 - 0.999**self.t)
                P[k] -= 0.05 * mh / (np.sqrt(vh) + 1e-7)


def _check(net):
    r = np.random.RandomState(0)
    X = r.randn(40, 2)
    y = ((X**2).sum(1) < 1.2).astype(float).reshape(-1, 1)
    opt = "adagrad(lr=1.0,eps=1e-7)" if net.opt == "adagrad" else "adam(lr=0.05,eps=1e-7)"
    a = from_step(net.P, NAMES, net.step, sizes=[2, 16, 1], activations="relu,sigmoid",
                  loss="bce", optimizer=opt, batch_size=20)  # fmt: skip
    return check(a, X, y, steps=10, probe=False)


@pytest.mark.parametrize("opt", ["adagrad", "adam"])
def test_a_safe_log_inside_an_adaptive_hidden_step_matches(opt):
    r = _check(Net(opt))
    assert r.code == "match", r.render()
    if opt == "adagrad":  # (saturates within the steps compared)
        assert "clip_convention" in r.codes(), r.render()


def test_an_update_bug_beside_it_is_still_a_bug():
    r = _check(Net("adagrad", bug="fresh_cache"))
    assert r.code == "implementation_bug", r.render()
