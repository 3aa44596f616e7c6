"""A program all in float16 is judged at float16's tolerance (review s23b F7): its gradients
reached the judge as float64 (every returned gradient was cast on arrival), so a correct
float16 program was held to float64's tolerance and, where its round-off happened to look
like a factor, called a bug (3 data seeds of 5). Gradients now keep their dtype; a factor
of 1.05 on one bias is still found."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_loss


class Net:
    def __init__(self, factor: float = 1.0):
        r = np.random.RandomState(0)
        self.factor = factor
        self.p = {
            "W1": (r.randn(2, 8) / np.sqrt(2)).astype(np.float16),
            "b1": np.zeros(8, np.float16),
            "W2": (r.randn(8, 1) / np.sqrt(8)).astype(np.float16),
            "b2": np.zeros(1, np.float16),
        }

    def forward(self, X):
        p = self.p
        h = np.tanh(X @ p["W1"] + p["b1"])
        return 1 / (1 + np.exp(-(h @ p["W2"] + p["b2"])))

    def loss(self, X, y):
        p = self.p
        h = np.tanh(X @ p["W1"] + p["b1"])
        out = 1 / (1 + np.exp(-(h @ p["W2"] + p["b2"])))
        L = -np.mean(y * np.log(out) + (1 - y) * np.log(1 - out))
        dz2 = (out - y) / out.size
        dh = dz2 @ p["W2"].T * (1 - h**2)
        g = {"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ dz2, "b2": dz2.sum(0)}
        g["b1"] = (g["b1"] * self.factor).astype(np.float16)
        return L, g


def _check(seed: int, factor: float = 1.0):
    r = np.random.RandomState(seed)
    X = r.randn(32, 2).astype(np.float16)
    Y = (X[:, :1] * X[:, 1:2] > 0).astype(np.float16)
    net = Net(factor)
    a = from_loss(net.p, net.loss, forward=net.forward, sizes=[2, 8, 1],
                  activations="tanh,sigmoid", loss="bce", optimizer="sgd", lr=0.5)  # fmt: skip
    return check(a, X, Y, probe=False)


@pytest.mark.parametrize("seed", [1, 3, 4])
def test_a_correct_float16_program_matches(seed):
    r = _check(seed)
    assert r.verdict == "match", r.render()


def test_a_factor_in_a_float16_program_is_still_found():
    r = _check(1, factor=1.05)
    assert r.verdict == "implementation_bug", r.render()
    assert r.findings[0].params == ("b1",), r.render()
