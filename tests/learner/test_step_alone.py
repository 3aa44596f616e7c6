"""numpy-ml's accumulate-then-update design handed over as ``from_gradients(backward,
step=update)`` with an ``update`` that runs its own backward pass (review s16b m01: the
right program was `gradient_accumulation`, "zero dW/db before each backward pass"). The check
runs the step alone then, and says why; a buffer never reset, or a wrong step, is still a
bug."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients


class Net:
    """tanh hidden layer, sigmoid output, BCE; backward adds into self.g (by design)."""

    def __init__(self, flush: bool = True, own_backward: bool = True, lr_factor: float = 1.0):
        r = np.random.RandomState(1)
        self.P = {"W1": r.randn(3, 6) / 2, "b1": np.zeros(6), "W2": r.randn(6, 1) / 2,
                  "b2": np.zeros(1)}  # fmt: skip
        self.g = {k: np.zeros_like(v) for k, v in self.P.items()}
        self.flush, self.own_backward, self.lr_factor = flush, own_backward, lr_factor

    def backward(self, X, y):
        P = self.P
        a1 = np.tanh(X @ P["W1"] + P["b1"])
        a2 = 1 / (1 + np.exp(-(a1 @ P["W2"] + P["b2"])))
        dz2 = (a2 - y) / len(X)
        dz1 = dz2 @ P["W2"].T * (1 - a1**2)
        for k, v in {"W1": X.T @ dz1, "b1": dz1.sum(0), "W2": a1.T @ dz2,
                     "b2": dz2.sum(0)}.items():  # fmt: skip
            self.g[k] += v
        return {k: v.copy() for k, v in self.g.items()}

    def update(self, X, y):
        if self.own_backward:
            self.backward(X, y)
        for k in self.P:
            self.P[k] -= 0.5 * self.lr_factor * self.g[k]
            if self.flush:
                self.g[k][...] = 0.0


def _check(net: Net):
    r = np.random.RandomState(0)
    X = r.randn(32, 3)
    y = (X[:, :1] > 0).astype(float)
    a = from_gradients(net.P, list(net.P), net.backward, step=net.update, sizes=[3, 6, 1],
                       activations="tanh,sigmoid", loss="bce", optimizer="sgd", lr=0.5)  # fmt: skip
    return check(a, X, y, steps=3, probe=False)


def test_an_update_that_runs_its_own_backward_and_flushes_is_checked_alone():
    r = _check(Net())
    assert r.code == "match", r.render()
    assert [f.code for f in r.findings] == ["step_alone"], r.render()
    assert "checked alone from the same start" in r.findings[0].evidence


@pytest.mark.parametrize(
    "net, code",
    [
        (Net(flush=False, own_backward=False), "gradient_accumulation"),  # never reset
        (Net(lr_factor=2.0), None),  # the design, with a step twice the declared one
    ],
)
def test_buffers_never_reset_or_a_wrong_step_stay_bugs(net, code):
    r = _check(net)
    assert r.code == "implementation_bug", r.render()
    assert "step_alone" not in [f.code for f in r.findings], r.render()
    if code:
        assert r.findings[0].code == code, r.render()
