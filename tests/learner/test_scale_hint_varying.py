"""A step factor that changes from step to step (N, or N/B on a shorter last batch) is no
learning rate: no constant lr fits it, so the fix neither says "declare lr=..." nor "c = lr:
your update applies the learning rate twice" (review s25f F2, F3: d2l's sgd dividing by a
constant batch_size, or by nothing; followed, "declare lr=4" led to a second wrong reading).
A constant factor on every step still offers the lr."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_step

R = np.random.RandomState(2)
X = R.randn(20, 4)
Y = R.randint(0, 3, 20)


def _softmax(z):
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def _fix(divide_by, lr, batch_size):
    r = np.random.RandomState(0)
    P = {"W": r.normal(0, 0.01, size=(4, 3)), "b": np.zeros(3)}

    def step(X, y):
        d = _softmax(X @ P["W"] + P["b"])
        d[np.arange(len(y)), y] -= 1  # the gradient of the summed loss
        div = {"batch_size": 8, "nothing": 1}[divide_by]
        P["W"] -= lr * (X.T @ d) / div
        P["b"] -= lr * d.sum(0) / div

    a = from_step(P, ["W", "b"], step, forward=lambda X: _softmax(X @ P["W"] + P["b"]),
                  sizes=[4, 3], activations="softmax", loss="cross_entropy", lr=lr)  # fmt: skip
    res = check(a, X, Y, batch_size=batch_size, probe=False)
    (f,) = [f for f in res.findings if f.code == "scale_factor"]
    return f


@pytest.mark.parametrize(("divide_by", "lr"), [("batch_size", 0.5), ("nothing", 0.5)])
def test_a_factor_that_changes_per_step_offers_no_learning_rate(divide_by, lr):
    f = _fix(divide_by, lr, batch_size=8)  # batches of 8, 8, 4
    assert "declare lr=" not in f.hint and "c = lr" not in f.hint, f.hint
    assert "len(X)" in f.hint or "reduction='sum'" in f.hint, f.hint


def test_a_steady_factor_still_offers_the_learning_rate():
    f = _fix("nothing", 0.5, batch_size=10)  # batches of 10, 10: c = 10 on every step
    assert "declare lr=5" in f.hint, f.hint
