"""A 1/m inside the gradient handed down (Ng's ``dA_prev = 1./m * np.dot(W.T, dZ)``) compounds
per layer: 1/N on the layer below the output, 1/N^2 on the next, named as such; and a factor on
some layers alone, the others stepping at the declared lr, is never offered as another lr
(review s24a F2: "c = 20/8000, a count of 8000 rows" and "declare lr=0.015")."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients, from_step

NAMES = ["W1", "b1", "W2", "b2", "W3", "b3"]


class Net:
    def __init__(self, m_in_da):
        r = np.random.RandomState(2)
        self.W1, self.b1 = r.randn(3, 5) * 0.6, np.zeros(5)
        self.W2, self.b2 = r.randn(5, 4) * 0.6, np.zeros(4)
        self.W3, self.b3 = r.randn(4, 1) * 0.6, np.zeros(1)
        self.m_in_da = m_in_da

    def grads(self, X, y):
        m = len(X)
        h1 = np.tanh(X @ self.W1 + self.b1)
        h2 = np.tanh(h1 @ self.W2 + self.b2)
        d3 = (h2 @ self.W3 + self.b3 - y) / m
        k = 1 / m if self.m_in_da else 1.0
        d2 = k * d3 @ self.W3.T * (1 - h2**2)
        d1 = k * d2 @ self.W2.T * (1 - h1**2)
        return {"W1": X.T @ d1, "b1": d1.sum(0), "W2": h1.T @ d2, "b2": d2.sum(0),
                "W3": h2.T @ d3, "b3": d3.sum(0)}  # fmt: skip

    def step(self, X, y):
        for k, g in self.grads(X, y).items():
            getattr(self, k)[...] -= 0.3 * g


def _data():
    r = np.random.RandomState(3)
    X = r.randn(20, 3)
    return X, np.tanh(X @ np.array([[1.0], [-0.5], [0.3]]))


@pytest.mark.parametrize("style", ["gradients", "step"])
def test_a_one_over_m_handed_down_is_named_per_layer(style):
    net = Net(m_in_da=True)
    decl = dict(sizes=[3, 5, 4, 1], activations="tanh,tanh,identity", loss="half_sse", lr=0.3)
    a = (from_gradients(net, NAMES, net.grads, **decl) if style == "gradients"
         else from_step(net, NAMES, net.step, **decl))  # fmt: skip
    r = check(a, *_data(), steps=2, probe=False)
    by = {f.params: f for f in r.findings}
    assert set(by) == {("W2", "b2"), ("W1", "b1")}, r.render()
    assert "1/N^2" in by[("W1", "b1")].evidence and "on the way down" in by[("W1", "b1")].hint
    assert "declare lr" not in r.render() and "rows (a count" not in r.render(), r.render()


def test_the_same_network_without_it_matches():
    net = Net(m_in_da=False)
    decl = dict(sizes=[3, 5, 4, 1], activations="tanh,tanh,identity", loss="half_sse", lr=0.3)
    assert (
        check(from_step(net, NAMES, net.step, **decl), *_data(), steps=2, probe=False).code
        == "match"
    )
