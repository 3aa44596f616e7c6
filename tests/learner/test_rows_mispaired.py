"""Rows paired with other targets than their own (pairing.py), both ways: X shuffled alone, y
reversed or sorted alone, two permutations, in a gradient function, a whole step and a
CS231n-style loss, are named ``rows_mispaired``; one permutation for both matches; slips that
are not a pairing (every row against the first target, a doubled gradient, a stale input
after step 1) are not named so."""

import numpy as np
import pytest
from tanh_net import adapter, grads_of, net, passes

from nnparity import check
from nnparity.reference.learner import from_loss, from_step
from nnparity.reference.learner.pairing import _alike


def _codes(r):
    return [f.code for f in r.findings]


def _grads(P, X, Y):
    h, do, dh = passes(P, X, Y)
    return [X.T @ dh, dh.sum(0), h.T @ do, do.sum(0)]


REORDERED = {
    "X shuffled alone": lambda X, Y: (X[np.random.permutation(len(X))], Y),
    "y reversed": lambda X, Y: (X, Y[::-1]),
    "y sorted by its first column": lambda X, Y: (X, Y[np.argsort(Y[:, 0])]),
    "two permutations": lambda X, Y: (
        X[np.random.permutation(len(X))],
        Y[np.random.permutation(len(Y))],
    ),
}


@pytest.mark.parametrize("how", REORDERED)
def test_a_gradient_of_mispaired_rows_is_named(how):
    P, X, Y = net()
    np.random.seed(0)

    def grads(X, Y):
        return _grads(P, *REORDERED[how](X, Y))

    r = check(adapter(P, grads), X, Y, steps=3, probe=False)
    assert r.code == "implementation_bug", r.render()
    assert _codes(r) == ["rows_mispaired"], r.render()
    assert "nondeterministic" not in _codes(r)


def test_one_permutation_for_both_matches():
    P, X, Y = net()
    rng = np.random.default_rng(0)

    def grads(X, Y):
        idx = rng.permutation(len(X))
        return _grads(P, X[idx], Y[idx])

    r = check(adapter(P, grads), X, Y, steps=3, probe=False)
    assert r.code == "match", r.render()


def test_a_whole_step_that_shuffles_x_alone_is_named():
    P, X, Y = net()
    rng = np.random.default_rng(1)

    class Net:
        W1, b1, W2, b2 = (p.copy() for p in P)

        def step(self, X, Y):
            X = X[rng.permutation(len(X))]  # the bug: y keeps its order
            g = _grads([self.W1, self.b1, self.W2, self.b2], X, Y)
            for name, d in zip(("W1", "b1", "W2", "b2"), g, strict=True):
                setattr(self, name, getattr(self, name) - 0.1 * d)

    m = Net()
    a = from_step(m, ["W1", "b1", "W2", "b2"], m.step, sizes=[4, 5, 3],
                  activations="tanh,identity", loss="mse", optimizer="sgd", lr=0.1)  # fmt: skip
    r = check(a, X, Y, steps=3, probe=False)
    assert _codes(r) == ["rows_mispaired"], r.render()


def _cs231n(mispair):
    rng = np.random.RandomState(1)
    X = rng.randn(15, 4)
    y = np.argmax(X[:, :3], axis=1)
    p = {"W1": 0.3 * rng.randn(4, 10), "b1": np.zeros(10), "W2": 0.3 * rng.randn(10, 3),
         "b2": np.zeros(3)}  # fmt: skip

    def loss(X, y=None):
        hidden = np.maximum(0, X @ p["W1"] + p["b1"])
        scores = hidden @ p["W2"] + p["b2"]
        if y is None:
            return scores
        y = mispair(y)
        n = len(X)
        e = np.exp(scores - scores.max(1, keepdims=True))
        prob = e / e.sum(1, keepdims=True)
        d = prob.copy()
        d[np.arange(n), y] -= 1
        d /= n
        dh = d @ p["W2"].T * (hidden > 0)
        grads = {"W2": hidden.T @ d, "b2": d.sum(0), "W1": X.T @ dh, "b1": dh.sum(0)}
        return -np.log(prob[np.arange(n), y]).mean(), grads

    a = from_loss(p, loss, forward=loss, sizes=[4, 10, 3], activations="relu,identity",
                  loss="cross_entropy", optimizer="sgd", lr=0.5)  # fmt: skip
    return a, X, y


def test_class_labels_reversed_in_a_loss_are_named_not_a_loss_formula():
    a, X, y = _cs231n(lambda y: y[::-1])
    r = check(a, X, y, steps=3, probe=False)
    assert _codes(r) == ["rows_mispaired"], r.render()
    a, X, y = _cs231n(lambda y: y)
    assert check(a, X, y, steps=3, probe=False).code == "match"


@pytest.mark.parametrize(
    "slip",
    ["first target for every row", "doubled gradient", "mean target"],
)
def test_slips_that_are_not_a_pairing_are_not_named_so(slip):
    P, X, Y = net()

    def grads(X, Y):
        if slip == "first target for every row":
            return _grads(P, X, np.repeat(Y[:1], len(Y), axis=0))
        g = grads_of(P)(X, Y)
        if slip == "doubled gradient":
            return [2 * d for d in g]
        return _grads(P, X, np.repeat(Y.mean(0, keepdims=True), len(Y), axis=0))

    r = check(adapter(P, grads), X, Y, steps=3, probe=False)
    assert r.code == "implementation_bug", r.render()
    # every output against the mean target is every output against every target, summed:
    # the broadcast out - y of an (N, 1) output and an (N,) target, a pairing slip
    assert ("rows_mispaired" in _codes(r)) == (slip == "mean target"), r.render()


def test_a_stale_input_after_step_1_stays_stale_input():
    P, X, Y = net()
    kept = {}

    def grads(X, Y):
        kept.setdefault("X", X)  # kept on the first call: right at step 1 only
        h, do, dh = passes(P, kept["X"], Y)
        return [kept["X"].T @ dh, dh.sum(0), h.T @ do, do.sum(0)]

    r = check(adapter(P, grads), X, Y, steps=4, probe=False)
    assert "rows_mispaired" not in _codes(r), r.render()


def test_alike_rows():
    assert _alike(np.ones((3, 2))) and _alike(np.zeros(1))
    assert not _alike(np.array([[1.0], [2.0]]))
