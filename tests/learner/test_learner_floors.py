"""A learner's gradient is judged as the engine judges scratch's: on its own tensor's scale,
each element's atol floor capped by its round-off allowance. Review repros: with one atol scale
for all gradients (the step's largest, at least the size of the summed terms) a doubled b1 of a
saturated first layer matched for 300 steps in float64, a 1% error in b1 on inputs of scale 1e6
matched, and a doubled b1 in float32 matched."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_loss


def _sig(z):
    return 1 / (1 + np.exp(-z))


class Net:
    """CS231n style: params dict and loss(X, y) -> (loss, grads); b1's gradient times ``fac``."""

    def __init__(self, b1: float, dtype: str, scale: float = 1.0, fac: float = 1.0, bug="b1"):
        rng = np.random.RandomState(0)
        self.dt, self.fac, self.bug = np.dtype(dtype), fac, bug
        self.params = {
            "W1": (rng.randn(4, 8) / 2 / scale).astype(self.dt),
            "b1": np.full(8, b1, self.dt),
            "W2": (rng.randn(8, 1) / np.sqrt(8)).astype(self.dt),
            "b2": np.zeros(1, self.dt),
        }

    def loss(self, X, y=None):
        p, dt = self.params, self.dt
        X = X.astype(dt)
        h = _sig(X @ p["W1"] + p["b1"])
        out = h @ p["W2"] + p["b2"]
        if y is None:
            return out
        y = y.reshape(out.shape).astype(dt)
        d = 2 * (out - y) / dt.type(out.size)
        dh = (d @ p["W2"].T) * h * (1 - h)
        g = {"W2": h.T @ d, "b2": d.sum(0), "W1": X.T @ dh, "b1": dh.sum(0)}
        g[self.bug] = (self.fac * g[self.bug]).astype(dt)
        return float(np.mean((out - y) ** 2)), g


def _check(net: Net, scale: float = 1.0):
    rng = np.random.RandomState(1)
    X = rng.randn(16, 4) * scale
    Y = 10 * np.sin(X.sum(1, keepdims=True) / scale)
    a = from_loss(net.params, net.loss, forward=net.loss, sizes=[4, 8, 1],
                  activations="sigmoid,identity", loss="mse", optimizer="sgd", lr=0.1,
                  data=(X, Y))  # fmt: skip
    return check(a, probe=False, steps=3, watch=0)


CASES = {
    "saturated float64, b1 = 30": dict(b1=30.0, dtype="float64"),
    "saturated float64, b1 = 20": dict(b1=20.0, dtype="float64"),
    "saturated float32, b1 = 13": dict(b1=13.0, dtype="float32"),
    "inputs of scale 1e6": dict(b1=0.0, dtype="float64", scale=1e6),
}


@pytest.mark.parametrize("case", CASES)
def test_a_correct_learner_matches(case):
    kw = dict(CASES[case])
    scale = kw.pop("scale", 1.0)
    assert _check(Net(**kw, scale=scale), scale).code == "match"


@pytest.mark.parametrize("fac", [2.0, -1.0])
@pytest.mark.parametrize("case", CASES)
def test_a_wrong_bias_gradient_is_caught_at_step_1(case, fac):
    kw = dict(CASES[case])
    scale = kw.pop("scale", 1.0)
    r = _check(Net(**kw, scale=scale, fac=fac), scale)
    assert r.code == "implementation_bug", r.render()
    bugs = [f for f in r.findings if f.kind == "bug"]
    assert bugs and bugs[0].step == 1, r.render()


@pytest.mark.parametrize("bug", ["b1", "b2"])
def test_a_one_percent_bias_error_on_unnormalised_inputs_is_caught(bug):
    r = _check(Net(0.0, "float64", scale=1e6, fac=1.01, bug=bug), 1e6)
    assert r.code == "implementation_bug", r.render()


@pytest.mark.parametrize("bug", ["W1", "W2"])
def test_a_constant_1e4_relative_error_in_float32_is_caught(bug):
    """Review s5: with ten times the float32 tolerance, atol on the tensor's scale was 1e-4
    and dW1 (1 + 1e-4) matched for 300 steps, 400 times the round-off of a correct run."""
    assert _check(Net(0.0, "float32")).code == "match"
    r = _check(Net(0.0, "float32", fac=1 + 1e-4, bug=bug))
    assert r.code == "implementation_bug", r.render()
