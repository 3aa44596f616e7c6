"""Mean absolute error, PyTorch's L1Loss, as ``loss='l1'`` (review s18a: a correct MAE program
was refused, with "did you mean 'mse'"): the right gradient sign(out - y) / N matches, a
missing 1/N is a scale factor, and sign(y - out) a sign flip."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients


def _adapter(bug: str | None):
    r = np.random.default_rng(0)
    P = {"W1": r.normal(0, 0.5, (3, 8)), "b1": np.zeros(8), "W2": r.normal(0, 0.5, (8, 1)),
         "b2": np.zeros(1)}  # fmt: skip

    def grads(x, y):
        h = np.tanh(x @ P["W1"] + P["b1"])
        out = h @ P["W2"] + P["b2"]
        d = np.sign(out - y) / (1 if bug == "no_mean" else out.size)
        d = -d if bug == "sign" else d
        dh = d @ P["W2"].T * (1 - h**2)
        loss = float(np.mean(np.abs(out - y)))
        return loss, {"W1": x.T @ dh, "b1": dh.sum(0), "W2": h.T @ d, "b2": d.sum(0)}

    return from_gradients(P, list(P), grads, sizes=[3, 8, 1], activations="tanh,identity",
                          loss="l1", lr=0.05)  # fmt: skip


def _data():
    r = np.random.default_rng(1)
    X = r.normal(size=(40, 3))
    return X, X @ np.array([[1.0], [-2.0], [0.5]]) + 0.3


def test_mean_absolute_error_matches():
    assert check(_adapter(None), *_data(), steps=3, probe=False).code == "match"


@pytest.mark.parametrize(("bug", "code"), [("no_mean", "scale_factor"), ("sign", "sign_flip")])
def test_a_planted_bug_under_l1_is_named(bug, code):
    r = check(_adapter(bug), *_data(), steps=3, probe=False)
    assert r.code == "implementation_bug" and r.codes()[0] == code, r.render()
