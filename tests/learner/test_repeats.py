"""Two runs of one step from the same weights: round-off of another summation order is the
same numbers, a random draw is not (review s12: a correct float32 learner summing per-sample
gradients in a shuffled order was `nondeterministic`, as two runs were held to 1e-12)."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients, from_step
from nnparity.reference.learner.repeats import differs

NAMES = ["W1", "b1", "W2", "b2"]


class Shuffled:
    """3-10-1 tanh regression whose gradients are per-sample outer products summed in a random
    order; ``noise``: a random relative change of that size in dW1 (a real random draw)."""

    def __init__(self, dtype, noise=0.0, b2=None):
        r = np.random.RandomState(7)
        self.X = r.uniform(-1, 1, size=(50, 3)).astype(dtype)
        self.y = (np.sin(2 * self.X[:, :1]) + self.X[:, 1:2] * self.X[:, 2:]).astype(dtype)
        self.P = {"W1": (r.randn(3, 10) * 0.8).astype(dtype), "b1": np.zeros(10, dtype),
                  "W2": (r.randn(10, 1) * 0.3).astype(dtype), "b2": np.zeros(1, dtype)}  # fmt: skip
        self.P["b2"] = self.P["b2"].astype(b2 or dtype)
        self.noise = noise

    def grads(self, X, y):
        p = self.P
        h = np.tanh(X @ p["W1"] + p["b1"])
        err = h @ p["W2"] + p["b2"] - y
        d = 2 * err / len(X)
        dh = d @ p["W2"].T * (1 - h**2)
        g = {k: np.zeros(v.shape, np.result_type(v, X)) for k, v in p.items()}
        for i in np.random.permutation(len(X)):
            g["W2"] += np.outer(h[i], d[i])
            g["b2"] += d[i]
            g["W1"] += np.outer(X[i], dh[i])
            g["b1"] += dh[i]
        if self.noise:
            g["W1"] *= 1 + self.noise * np.random.standard_normal(g["W1"].shape)
        return float(np.mean(err**2)), g

    def step(self, X, y):
        _, g = self.grads(X, y)
        for k, v in self.P.items():
            v -= 0.1 * g[k]


DECL = dict(sizes=[3, 10, 1], activations="tanh,identity", loss="mse", optimizer="sgd", lr=0.1)


def _adapter(net, style):
    if style == "step":
        return from_step(net.P, NAMES, net.step, **DECL)
    return from_gradients(net.P, NAMES, net.grads, **DECL)


@pytest.mark.parametrize("style", ["gradients", "step"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_sum_in_a_shuffled_order_is_deterministic(dtype, style):
    net = Shuffled(dtype)
    r = check(_adapter(net, style), net.X, net.y, steps=3, watch=20, probe=False)
    assert r.code == "match", r.render()


@pytest.mark.parametrize("style", ["gradients", "step"])
def test_a_random_draw_of_a_thousandth_is_still_nondeterministic(style):
    net = Shuffled(np.float32, noise=1e-3)
    r = check(_adapter(net, style), net.X, net.y, steps=3, watch=20, probe=False)
    assert "nondeterministic" in r.codes(), r.render()


def test_the_repeat_tolerance_is_the_dtypes():
    a = {"g": np.array([1.0, -2.0, 1e-6])}
    shuffled32 = {"g": a["g"] * (1 + 1e-6)}  # a few float32 spacings
    assert differs(a, shuffled32, "float32") is None
    assert differs(a, shuffled32, "float64") == "g"
    assert differs(a, {"g": a["g"] * (1 + 1e-3)}, "float32") == "g"
    assert differs(a, {"g": a["g"] + [0, 0, 1e-4]}, "float32") == "g"  # small, far off its own


@pytest.mark.parametrize("style", ["gradients", "step"])
def test_one_float16_bias_loosens_no_other_arrays_repeat(style):
    """Review s12b: one float16 bias among float64 arrays set every array's repeat tolerance
    to float16's (1e-2), so a random draw of a thousandth in dW1 matched."""
    net = Shuffled(np.float64, noise=1e-3, b2=np.float16)
    r = check(_adapter(net, style), net.X, net.y, steps=3, watch=20, probe=False)
    assert "nondeterministic" in r.codes(), r.render()
    net = Shuffled(np.float64, b2=np.float16)
    assert check(_adapter(net, style), net.X, net.y, steps=3, watch=20, probe=False).code == "match"
