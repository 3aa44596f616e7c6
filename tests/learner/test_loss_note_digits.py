"""A loss value that parts from PyTorch's in its 7th or 8th digit (a safe log's epsilon,
``np.log(a + 1e-7)``) while every gradient agrees: the note prints the two values with the
digits that tell them apart (review s9c: both printed as 0.693147, a 'mismatch' of two equal
numbers) and their difference."""

from __future__ import annotations

import numpy as np

from nnparity.reference.learner import check, from_gradients
from nnparity.reference.learner.result import distinct


def test_distinct_adds_digits_until_the_values_differ():
    assert distinct(0.6931471805599453, 0.6931471815599453) == ("0.693147181", "0.693147182")
    assert distinct(1.5, 2.5) == ("1.5", "2.5")
    assert distinct(3.0, 3.0) == ("3", "3")  # equal values stay equal, at every precision


def bce_learner(value):
    """A 3-4-1 tanh, sigmoid net under BCE with correct gradients (a - y) / N whose returned
    loss is ``value(a, y)``: checked for 2 steps."""
    r = np.random.default_rng(5)
    P = {"W1": r.normal(0, 0.5, (3, 4)), "b1": np.zeros(4), "W2": r.normal(0, 0.5, (4, 1)),
         "b2": np.zeros(1)}  # fmt: skip
    X, y = r.normal(size=(32, 3)), (r.random((32, 1)) < 0.5).astype(float)

    def passes(X, y):
        h = np.tanh(X @ P["W1"] + P["b1"])
        a = 1 / (1 + np.exp(-(h @ P["W2"] + P["b2"])))
        dz = (a - y) / len(y)
        dh = dz @ P["W2"].T * (1 - h**2)
        return float(value(a, y)), [X.T @ dh, dh.sum(0), h.T @ dz, dz.sum(0)]

    a = from_gradients(P, list(P), passes, sizes=[3, 4, 1], activations="tanh,sigmoid",
                       loss="bce", lr=0.1)  # fmt: skip
    return check(a, X, y, steps=2, probe=False)


def test_a_safe_log_in_the_loss_value_is_a_note_with_numbers_that_differ():
    res = bce_learner(lambda a, y: -np.mean(y * np.log(a + 1e-7) + (1 - y) * np.log(1 - a + 1e-7)))
    assert res.code == "match", res.render()
    (f,) = [f for f in res.findings if f.code == "loss_value_mismatch"]
    head = f.evidence.split(" (")[0]  # "the loss value you return is A, PyTorch's B"
    mine, theirs = head.removeprefix("the loss value you return is ").split(", PyTorch's ")
    assert mine != theirs and float(mine) < float(theirs), f.evidence
    assert "difference -" in f.evidence and "ratio" not in f.evidence  # a ratio of 1.0000
