"""A forward pass that answers for other rows than it is given (forward_input.py): a predict
returning the output its step cached, or computing on a stored X, agrees at every step (each
step's forward sees that step's batch); called once more on rows of its own it is caught
(review s36 F1-F2: both were a match). Tested both ways, and code made for one batch size
(a forward that raises on another row count) is left alone."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_step

r = np.random.RandomState(0)
X = r.randn(40, 3)
Y = (X[:, :1] - X[:, 1:2] > 0).astype(float)


class Net:
    def __init__(self, how: str, dtype=np.float64):
        g = np.random.RandomState(1)
        self.W1, self.b1 = g.randn(3, 6).astype(dtype) * 0.5, np.zeros(6, dtype)
        self.W2, self.b2 = g.randn(6, 1).astype(dtype) * 0.5, np.zeros(1, dtype)
        self.how, self.X, self.output = how, X.astype(dtype), None

    def forward(self, x):
        self.h = np.tanh(x @ self.W1 + self.b1)
        self.output = 1 / (1 + np.exp(-(self.h @ self.W2 + self.b2)))
        return self.output

    def predict(self, x):
        if self.how == "cached":  # the self.forward(x) forgotten: the step's own output
            return self.output
        if self.how == "stored":  # the data set kept at construction
            return self.forward(self.X)
        if self.how == "fixed" and len(x) != len(self.X):  # made for one batch size
            raise ValueError(f"cannot reshape array of size {x.size} into shape (40,3)")
        return self.forward(x)

    def step(self, x, y):
        out = self.forward(x)
        d2 = (out - y) / len(x)
        d1 = d2 @ self.W2.T * (1 - self.h**2)
        self.W2 -= 0.5 * self.h.T @ d2
        self.b2 -= 0.5 * d2.sum(0)
        self.W1 -= 0.5 * x.T @ d1
        self.b1 -= 0.5 * d1.sum(0)


def _check(how: str, dtype=np.float64):
    net = Net(how, dtype)
    a = from_step(net, ["W1", "b1", "W2", "b2"], net.step, forward=net.predict, sizes=[3, 6, 1],
                  activations="tanh,sigmoid", loss="bce", optimizer="sgd", lr=0.5)  # fmt: skip
    return check(a, X.astype(dtype), Y.astype(dtype), steps=3, probe=False)


@pytest.mark.parametrize("how", ["cached", "stored"])
def test_a_forward_that_answers_for_other_rows_is_stale_input(how):
    res = _check(how)
    assert res.code == "implementation_bug" and res.codes() == ["stale_input"], res.render()
    f = res.findings[0]
    assert f.params == ("forward",) and "answers for other data" in f.evidence, res.render()
    assert "shape (40, 1) for 20 rows" in f.evidence, res.render()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("how", ["own", "fixed"])
def test_a_forward_of_its_own_rows_or_made_for_one_batch_size_matches(how, dtype):
    res = _check(how, dtype)
    assert res.code == "match" and "stale_input" not in res.codes(), res.render()


def test_a_stale_output_of_the_same_row_count_is_caught_by_its_values():
    """Twenty rows a step: the cached output has the probe's row count, its values tell."""
    net = Net("cached")
    a = from_step(net, ["W1", "b1", "W2", "b2"], net.step, forward=net.predict, sizes=[3, 6, 1],
                  activations="tanh,sigmoid", loss="bce", optimizer="sgd", lr=0.5)  # fmt: skip
    res = check(a, X, Y, steps=3, probe=False, batch_size=20)
    assert res.code == "implementation_bug" and res.codes() == ["stale_input"], res.render()
    assert "its outputs are not PyTorch's for these rows" in res.findings[0].evidence


def test_an_outputs_by_batch_forward_on_as_many_rows_as_outputs_matches():
    """Review s38 F1: Nielsen's XOR with one-hot targets over 2 outputs, 4 rows, a forward
    returning (outputs, batch): the probe's 2 rows gave a square output read the wrong way
    round, stale_input on correct code. The probe never asks for as many rows as outputs."""
    g = np.random.RandomState(2)
    P = {"W1": g.randn(4, 2), "b1": np.zeros((4, 1)), "W2": g.randn(2, 4), "b2": np.zeros((2, 1))}
    Xx = np.array([[0.0, 0], [0, 1], [1, 0], [1, 1]])
    Yx = np.eye(2)[[0, 1, 1, 0]]

    def forward(Xc):  # columns are samples
        return 1 / (1 + np.exp(-(P["W2"] @ np.tanh(P["W1"] @ Xc + P["b1"]) + P["b2"])))

    def grads(X, Y):
        h = np.tanh(P["W1"] @ X.T + P["b1"])
        a = 1 / (1 + np.exp(-(P["W2"] @ h + P["b2"])))
        d2 = (a - Y.T) * a * (1 - a) * 2 / Y.size
        d1 = P["W2"].T @ d2 * (1 - h**2)
        return {"W1": d1 @ X, "b1": d1.sum(1, keepdims=True), "W2": d2 @ h.T,
                "b2": d2.sum(1, keepdims=True)}  # fmt: skip

    from nnparity.reference.learner import from_gradients

    a = from_gradients(P, list(P), grads, forward=lambda X: forward(X.T), sizes=[2, 4, 2],
                       activations="tanh,sigmoid", loss="mse", optimizer="sgd", lr=0.5,
                       layout="out_in")  # fmt: skip
    res = check(a, Xx, Yx, steps=3, probe=False)
    assert res.code == "match", res.render()


def test_a_forward_normalising_by_its_batch_is_batch_dependent_not_stale():
    """Review s38 F9: standardising X by the batch's own mean and std (on data already
    standardised, so every step's full batch agreed) is a real departure, but no stale input."""
    Xs = (X - X.mean(0)) / X.std(0)
    net = Net("own")

    def predict(x):
        return net.forward((x - x.mean(0)) / x.std(0))

    a = from_step(net, ["W1", "b1", "W2", "b2"], net.step, forward=predict, sizes=[3, 6, 1],
                  activations="tanh,sigmoid", loss="bce", optimizer="sgd", lr=0.5)  # fmt: skip
    res = check(a, Xs, Y, steps=3, probe=False)
    assert res.code == "implementation_bug", res.render()
    assert res.codes() == ["batch_dependent_forward"], res.render()
    assert "training set's statistics" in res.findings[0].hint
