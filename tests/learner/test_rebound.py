"""An update that rebinds the names the adapter reads while the layers keep the arrays they
were given (Saito's ``params[key] = params[key] - lr * grads[key]`` beside his ``Affine``
layers, review s59b F4): every step after the first runs at step 1's weights. It was "no
single-layer forward bug reproduces it"; it is ``stale_weights_used`` with the in-place fix,
and the same program updating in place matches."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients, from_step


class Affine:
    def __init__(self, W, b):
        self.W, self.b = W, b

    def forward(self, x):
        self.x = x
        return x @ self.W + self.b

    def backward(self, dout):
        self.dW, self.db = self.x.T @ dout, dout.sum(0)
        return dout @ self.W.T


def _net(in_place: bool, style: str):
    r = np.random.default_rng(4)
    params = {"W1": r.normal(0, 0.5, (3, 6)), "b1": np.zeros(6),
              "W2": r.normal(0, 0.5, (6, 2)), "b2": np.zeros(2)}  # fmt: skip
    a1, a2 = Affine(params["W1"], params["b1"]), Affine(params["W2"], params["b2"])

    def predict(X):
        return a2.forward(np.tanh(a1.forward(X)))

    def grads(X, y):
        h = np.tanh(a1.forward(X))
        d = (a2.forward(h) - y) * 2 / y.size
        a1.backward(a2.backward(d) * (1 - h**2))
        return {"W1": a1.dW, "b1": a1.db, "W2": a2.dW, "b2": a2.db}

    def update(g):
        for k in params:
            if in_place is True or (in_place == "weights" and k[0] == "W"):
                params[k] -= 0.1 * g[k]
            else:
                params[k] = params[k] - 0.1 * g[k]

    kw = dict(forward=predict, sizes=[3, 6, 2], activations="tanh,identity", loss="mse",
              optimizer="sgd", lr=0.1)  # fmt: skip
    if style == "step":
        return from_step(params, list(params), lambda X, y: update(grads(X, y)), **kw)
    last = {}

    def both(X, y):
        last["g"] = grads(X, y)
        return last["g"]

    return from_gradients(params, list(params), both, step=lambda X, y: update(last["g"]), **kw)


R = np.random.default_rng(9)
X = R.normal(size=(10, 3))
Y = R.normal(size=(10, 2))


@pytest.mark.parametrize("style", ["step", "gradients"])
def test_an_update_that_rebinds_the_names_is_stale_weights(style):
    r = check(_net(False, style), X, Y, steps=4, probe=False)
    assert r.code == "implementation_bug", r.render()
    f = r.findings[0]
    assert (f.code, f.step) == ("stale_weights_used", 2), r.render()
    assert "step 1 began from" in f.evidence and "in place" in f.hint, r.render()


@pytest.mark.parametrize("style", ["step", "gradients"])
def test_the_same_update_in_place_matches(style):
    r = check(_net(True, style), X, Y, steps=4, probe=False)
    assert r.code == "match", r.render()


def test_a_forward_on_a_copy_of_the_first_weights_is_said_as_the_forward_alone():
    """The gradients at the current weights, the forward from a copy taken at the first call:
    the same reading, said of the forward alone, with its own fix."""
    r = np.random.default_rng(4)
    P = {"W1": r.normal(0, 0.5, (3, 6)), "b1": np.zeros(6),
         "W2": r.normal(0, 0.5, (6, 2)), "b2": np.zeros(2)}  # fmt: skip
    kept = {}

    def forward(X):
        Q = kept.setdefault("P", {k: v.copy() for k, v in P.items()})
        return np.tanh(X @ Q["W1"] + Q["b1"]) @ Q["W2"] + Q["b2"]

    def grads(X, y):
        h = np.tanh(X @ P["W1"] + P["b1"])
        d = (h @ P["W2"] + P["b2"] - y) * 2 / y.size
        dh = d @ P["W2"].T * (1 - h**2)
        return {"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ d, "b2": d.sum(0)}

    a = from_gradients(P, list(P), grads, forward=forward, sizes=[3, 6, 2],
                       activations="tanh,identity", loss="mse", lr=0.1)  # fmt: skip
    res = check(a, X, Y, steps=4, probe=False)
    assert res.code == "implementation_bug", res.render()
    f = res.findings[0]
    assert (f.code, f.step) == ("stale_weights_used", 2), res.render()
    assert "forward pass computes with a copy" in f.evidence, res.render()
    assert "gradients are" not in f.evidence, res.render()


def test_biases_rebound_beside_weights_in_place_name_the_biases():
    """Review s60a F6: the weights updated in place, the biases rebound: the layers keep the
    biases of step 1 alone; said of b1, b2 with the in-place fix."""
    r = check(_net("weights", "step"), X, Y, steps=4, probe=False)
    f = r.findings[0]
    assert (r.code, f.code, f.params) == ("implementation_bug", "stale_weights_used", ("b1", "b2"))
    assert "as they were at step 1 and the rest as your program holds them" in f.evidence
