"""A constant factor seen through float16 storage is no schedule (review s14): each step's
multiplier fitted from float16 weights scatters by their rounding (0.4988 to 0.5008 for an MSE
gradient without its 2), and a spread of 1e-6 was the test for one constant: the finding was
``lr_schedule`` with a fix that changes nothing. Multipliers within 4 rounding spreads of their
mean are one constant now; a real decay in float16 stays a schedule."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_step

NAMES = ["W1", "b1", "W2", "b2"]


class Net:
    def __init__(self, dtype: str, half: bool, decay: float):
        r = np.random.RandomState(0)
        self.P = {
            "W1": (0.5 * r.randn(3, 8)).astype(dtype), "b1": (0.1 * r.randn(8)).astype(dtype),
            "W2": (0.5 * r.randn(8, 1)).astype(dtype), "b2": np.zeros(1, dtype),
        }  # fmt: skip
        self.half, self.decay, self.t = half, decay, 0

    def step(self, X, y):
        P = self.P
        h = np.tanh(X @ P["W1"] + P["b1"])
        d = (1 if self.half else 2) * (h @ P["W2"] + P["b2"] - y) / y.size
        dh = d @ P["W2"].T * (1 - h**2)
        g = {"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ d, "b2": d.sum(0)}
        lr = 0.05 * self.decay**self.t
        self.t += 1
        for k in NAMES:
            P[k] -= (lr * g[k]).astype(P[k].dtype)


def _check(net: Net, dtype: str):
    r = np.random.RandomState(1)
    X = r.randn(32, 3)
    y = np.sin(X @ r.randn(3, 1))
    a = from_step(net.P, NAMES, net.step, sizes=[3, 8, 1], activations="tanh,identity",
                  loss="mse", optimizer="sgd", lr=0.05)  # fmt: skip
    return check(a, X.astype(dtype), y.astype(dtype), steps=6, probe=False)


@pytest.mark.parametrize("dtype", ["float16", "float64"])
def test_a_gradient_at_half_its_size_is_a_factor_not_a_schedule(dtype):
    r = _check(Net(dtype, half=True, decay=1.0), dtype)
    assert r.codes()[0] == "scale_factor", r.render()
    assert "1/2" in r.findings[0].evidence, r.render()


@pytest.mark.parametrize("dtype", ["float16", "float64"])
def test_an_exponential_decay_stays_a_schedule(dtype):
    r = _check(Net(dtype, half=False, decay=0.8), dtype)
    assert r.codes()[0] == "lr_schedule", r.render()
