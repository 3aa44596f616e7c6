"""A bias gradient copied from the layer above (review s18a: CS231n's ``grads['b1'] =
np.sum(dh2, axis=0)``, square hidden layers hiding the shape): was ``unexplained_mismatch``;
now named at the copied bias, with its own fix. A network whose layers differ in width has
no such reading, and the right line matches."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients


def _adapter(copied: bool, hidden: tuple[int, int] = (6, 6)):
    r = np.random.default_rng(2)
    h1, h2 = hidden
    P = {"W1": r.normal(0, 0.6, (3, h1)), "b1": r.normal(0, 0.1, h1),
         "W2": r.normal(0, 0.6, (h1, h2)), "b2": r.normal(0, 0.1, h2),
         "W3": r.normal(0, 0.6, (h2, 2)), "b3": np.zeros(2)}  # fmt: skip

    def grads(x, y):
        a1 = np.tanh(x @ P["W1"] + P["b1"])
        a2 = np.tanh(a1 @ P["W2"] + P["b2"])
        d3 = 2 * (a2 @ P["W3"] + P["b3"] - y) / y.size
        d2 = d3 @ P["W3"].T * (1 - a2**2)
        d1 = d2 @ P["W2"].T * (1 - a1**2)
        return {"W1": x.T @ d1, "b1": (d2 if copied else d1).sum(0), "W2": a1.T @ d2,
                "b2": d2.sum(0), "W3": a2.T @ d3, "b3": d3.sum(0)}  # fmt: skip

    return from_gradients(P, list(P), grads, sizes=[3, h1, h2, 2], activations="tanh,tanh,identity",
                          loss="mse", lr=0.1)  # fmt: skip


def _data():
    r = np.random.default_rng(3)
    X = r.normal(size=(16, 3))
    return X, np.stack([X[:, 0] - X[:, 1], X[:, 2] ** 2], axis=1)


def test_a_bias_gradient_copied_from_the_layer_above_is_named():
    r = check(_adapter(True), *_data(), steps=3, probe=False)
    (f,) = r.findings
    assert f.params == ("b1",) and f.layer == 1, r.render()
    assert "the layer above's dz summed" in f.evidence and "c = 1.0000" in f.evidence
    assert "db_l = dz_l.sum(axis=0)" in f.hint


@pytest.mark.parametrize("hidden", [(6, 6), (6, 5)])
def test_each_layers_own_bias_gradient_matches(hidden):
    assert check(_adapter(False, hidden), *_data(), steps=3, probe=False).code == "match"
