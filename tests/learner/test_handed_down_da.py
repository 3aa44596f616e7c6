"""The error handed down as the layer above's dL/da, without that layer's derivative (review
s18a: iamtrask's ``l1_error = l2_error.dot(syn1.T)`` where ``l2_delta`` belongs): was
``unexplained_mismatch`` on the layer below; now ``wrong_activation_derivative`` at that
layer, naming the layer whose derivative is left out. The right hand-down matches."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients


def _net(skip_at: int | None, out_act: str, output: bool = False):
    r = np.random.default_rng(7)
    P = {"W1": r.normal(0, 0.7, (3, 5)), "b1": np.zeros(5), "W2": r.normal(0, 0.7, (5, 4)),
         "b2": np.zeros(4), "W3": r.normal(0, 0.7, (4, 1)), "b3": np.zeros(1)}  # fmt: skip

    def grads(X, y):
        h1 = np.tanh(X @ P["W1"] + P["b1"])
        h2 = np.tanh(h1 @ P["W2"] + P["b2"])
        z3 = h2 @ P["W3"] + P["b3"]
        a3 = 1 / (1 + np.exp(-z3)) if out_act == "sigmoid" else z3
        da3 = 2 * (a3 - y) / len(X)
        dz3 = da3 * (a3 * (1 - a3)) if out_act == "sigmoid" else da3
        da2 = (da3 if skip_at == 2 else dz3) @ P["W3"].T
        dz2 = da2 * (1 - h2**2)
        da1 = (da2 if skip_at == 1 and not output else h2 if output else dz2) @ P["W2"].T
        dz1 = da1 * (1 - h1**2)
        return {"W1": X.T @ dz1, "b1": dz1.sum(0), "W2": h1.T @ dz2, "b2": dz2.sum(0),
                "W3": h2.T @ dz3, "b3": dz3.sum(0)}  # fmt: skip

    a = from_gradients(P, list(P), grads, sizes=[3, 5, 4, 1], loss="mse", lr=0.1,
                       activations=f"tanh,tanh,{out_act}")  # fmt: skip
    r = np.random.default_rng(8)
    X = r.normal(size=(20, 3))
    return a, X, (X[:, :1] > 0).astype(float)


@pytest.mark.parametrize(("skip_at", "out_act"), [(1, "identity"), (2, "sigmoid"), (1, "sigmoid")])
def test_the_layer_aboves_da_handed_down_is_named(skip_at, out_act):
    a, X, y = _net(skip_at, out_act)
    r = check(a, X, y, steps=3, probe=False)
    f = r.findings[0]
    assert f.code == "wrong_activation_derivative" and f.layer == skip_at, r.render()
    assert f"without layer {skip_at + 1}'s derivative" in f.evidence, r.render()
    assert "c = 1.0000" in f.evidence and f"dz_{skip_at + 1} @ W{skip_at + 1}.T" in f.hint


@pytest.mark.parametrize("out_act", ["identity", "sigmoid"])
def test_the_delta_handed_down_matches(out_act):
    a, X, y = _net(None, out_act)
    assert check(a, X, y, steps=3, probe=False).code == "match"


def test_the_layer_aboves_output_handed_down_is_named():
    """Review s19a (Brownlee's ``error += neuron['weights'][j] * neuron['output']`` where
    ``neuron['delta']`` belongs): unexplained; named at the layer it reaches."""
    a, X, y = _net(1, "sigmoid", output=True)
    r = check(a, X, y, steps=3, probe=False)
    f = r.findings[0]
    assert f.code == "wrong_cached_activation" and f.layer == 1, r.render()
    assert "as layer 2's output a_2 through W2, where its delta dz_2 belongs" in f.evidence
