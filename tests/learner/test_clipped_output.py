"""A forward pass that clips its output to bounds far wider than a safe log's epsilon (review
s19b, n13: a sigmoid output held in [0.05, 0.95]) is ``clipped_output`` with the bounds read
off the learner's outputs; a safe log's 1e-7 stays a match, and an output that is one
constant (a dead network) is no clip."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients


def _adapter(clip, const: bool = False):
    r = np.random.RandomState(0)
    P = {"W1": r.randn(3, 5) * 2, "b1": np.zeros(5), "W2": r.randn(5, 1) * 3, "b2": np.zeros(1)}

    def fwd(X):
        a1 = np.tanh(X @ P["W1"] + P["b1"])
        a2 = 1 / (1 + np.exp(-(a1 @ P["W2"] + P["b2"]) * (0.0 if const else 1.0)))
        return a1, np.clip(a2, *clip)

    def grads(X, y):
        a1, a2 = fwd(X)
        dz2 = (a2 - y) / len(X)
        dz1 = dz2 @ P["W2"].T * (1 - a1**2)
        return {"W1": X.T @ dz1, "b1": dz1.sum(0), "W2": a1.T @ dz2, "b2": dz2.sum(0)}

    decl = dict(sizes=[3, 5, 1], activations="tanh,sigmoid", loss="bce", optimizer="sgd")
    return from_gradients(P, list(P), grads, forward=lambda X: fwd(X)[1], lr=0.5, **decl)


def _data():
    r = np.random.RandomState(1)
    X = r.randn(40, 3)
    return X, (X[:, :1] + X[:, 1:2] > 0).astype(float)


@pytest.mark.parametrize(
    "clip, said",
    [
        ((0.05, 0.95), "clipped below at 0.05 and above at 0.95"),
        ((0.0, 0.9), "clipped above at 0.9"),
    ],
)
def test_a_wide_clip_of_the_output_is_named_with_its_bounds(clip, said):
    res = check(_adapter(clip), *_data(), steps=2, watch=0)
    assert res.code == "implementation_bug", res.render()
    f = res.findings[0]
    assert f.code == "clipped_output" and said in f.evidence, res.render()
    assert f.hint.startswith("remove the clip from your forward pass; to keep a log finite")


def test_a_safe_logs_epsilon_is_no_clipped_output():
    res = check(_adapter((1e-7, 1 - 1e-7)), *_data(), steps=2, watch=0, probe=False)
    assert res.code == "match", res.render()


def test_a_constant_output_is_no_clip_of_pytorchs():
    res = check(_adapter((0.0, 1.0), const=True), *_data(), steps=2, watch=0)
    assert res.code == "implementation_bug", res.render()
    assert "clipped_output" not in res.codes(), res.render()
