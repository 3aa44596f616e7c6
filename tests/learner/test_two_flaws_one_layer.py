"""python-course.eu's network as published: the hidden error is the output error (without the
sigmoid's derivative) handed down through the output weights after their update. Each flaw
alone was named; together they were "unexplained_mismatch" (review s20a, t29). Both are named
at the layer."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_step


def _adapter(flaws: str):
    r = np.random.RandomState(1)
    P = {"W1": r.uniform(-0.5, 0.5, (2, 6)), "W2": r.uniform(-0.5, 0.5, (6, 2))}
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731

    def step(X, y):
        a1 = sig(X @ P["W1"])
        out = sig(a1 @ P["W2"])
        e = (y - out) / len(X)  # -dL/d(out) under half_sse, averaged
        d2 = e * out * (1 - out)
        W2_before = P["W2"].copy()
        P["W2"] += 0.6 * a1.T @ d2
        through = P["W2"] if "new" in flaws else W2_before
        hidden = (e if "da" in flaws else d2) @ through.T
        P["W1"] += 0.6 * X.T @ (hidden * a1 * (1 - a1))

    decl = dict(sizes=[2, 6, 2], activations="sigmoid,sigmoid", bias="none", loss="half_sse")
    return from_step(P, ["W1", "W2"], step, optimizer="sgd", lr=0.6, **decl)


def _data():
    r = np.random.RandomState(0)
    X = r.rand(16, 2)
    return X, np.eye(2)[(X.sum(1) > 1).astype(int)]


@pytest.mark.parametrize(
    "flaws, codes",
    [
        ("da new", ["updated_weights_used", "wrong_activation_derivative"]),
        ("new", ["updated_weights_used"]),
        ("da", ["wrong_activation_derivative"]),
    ],
)
def test_each_flaw_of_the_hidden_error_is_named_alone_or_together(flaws, codes):
    res = check(_adapter(flaws), *_data(), steps=3, watch=0)
    assert res.code == "implementation_bug", res.render()
    assert res.codes() == codes, res.render()
    assert all(f.params == ("W1",) and f.layer == 1 for f in res.findings), res.render()


def test_the_published_network_with_both_lines_right_matches():
    assert check(_adapter(""), *_data(), steps=3, watch=0, probe=False).code == "match"
