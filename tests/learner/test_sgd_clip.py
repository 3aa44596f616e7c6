"""Each gradient element clipped to a bound before a plain SGD step (review s12: under Adam
it was named, under SGD it was an unexplained gradient mismatch with a finite-difference fix,
as a step that shows no gradient implies its gradients from the weights)."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients, from_step

NAMES = ["W1", "b1", "W2", "b2"]


class Net:
    def __init__(self, clip):
        r = np.random.RandomState(5)
        self.W1, self.b1 = r.randn(3, 8) * np.sqrt(1 / 3), np.zeros(8)
        self.W2, self.b2 = r.randn(8, 1) * np.sqrt(1 / 8), np.zeros(1)
        self.clip = clip

    def grads(self, X, y):
        h = np.tanh(X @ self.W1 + self.b1)
        d = 2 * (h @ self.W2 + self.b2 - y) / len(X)
        dh = d @ self.W2.T * (1 - h**2)
        return {"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ d, "b2": d.sum(0)}

    def step(self, X, y):
        for k, g in self.grads(X, y).items():
            if self.clip:
                g = np.clip(g, -self.clip, self.clip)
            getattr(self, k)[...] -= 0.05 * g


def _data():
    r = np.random.RandomState(6)
    X = r.randn(24, 3)
    return X, np.tanh(X @ np.array([[1.0], [-2.0], [0.5]])) + 0.3 * X[:, :1] ** 2


DECL = dict(sizes=[3, 8, 1], activations="tanh,identity", loss="mse", optimizer="sgd", lr=0.05)


@pytest.mark.parametrize("style", ["step", "gradients"])
@pytest.mark.parametrize("clip", [0.02, 0.1])
def test_a_clipped_sgd_step_is_named_with_its_bound(clip, style):
    net = Net(clip)
    if style == "step":
        a = from_step(net, NAMES, net.step, **DECL)
    else:
        a = from_gradients(net, NAMES, net.grads, step=net.step, **DECL)
    r = check(a, *_data(), steps=3, probe=False)
    assert r.codes() == ["optimizer_update_mismatch"], r.render()
    assert f"clipped to +-{clip:g} before the update" in r.findings[0].evidence, r.render()
    # the verdict is implementation_bug (the declared update does not clip): the fix says what
    # to do either way and never calls the departure "not a bug" (review s23a F9)
    assert "if you clip on purpose" in r.findings[0].hint, r.render()
    assert "not a bug" not in r.render()


def test_a_bound_never_reached_matches():
    net = Net(10.0)
    r = check(from_step(net, NAMES, net.step, **DECL), *_data(), steps=3, probe=False)
    assert r.code == "match", r.render()
