"""Identical inputs with different targets: no model fits them, and the training probe says
so (``contradictory_targets``, with the best any model can reach) instead of ``capacity``.
Tested both ways: the same data without the clash fits, and the bound is computed."""

import numpy as np
import pytest

from nnparity import check
from nnparity.reference.learner import from_gradients
from nnparity.reference.learner.contradiction import contradiction


def _learner(X, Y, loss, out):
    r = np.random.RandomState(0)
    P = [
        r.randn(X.shape[1], 8) * 0.5,
        np.zeros(8),
        r.randn(8, Y.shape[1]) * 0.5,
        np.zeros(Y.shape[1]),
    ]

    def grads(Xb, Yb):
        h = np.tanh(Xb @ P[0] + P[1])
        z = h @ P[2] + P[3]
        if out == "sigmoid":
            a = 1 / (1 + np.exp(-z))
            do = (a - Yb) / Yb.size
        else:
            do = 2 * (z - Yb) / Yb.size
        dh = do @ P[2].T * (1 - h**2)
        return [Xb.T @ dh, dh.sum(0), h.T @ do, do.sum(0)]

    return from_gradients(
        P, [f"[{i}]" for i in range(4)], grads, sizes=[X.shape[1], 8, Y.shape[1]],
        activations=f"tanh,{out}", loss=loss, optimizer="adam", lr=0.05, layout="in_out",
    )  # fmt: skip


@pytest.mark.parametrize("clash", [False, True])
def test_repeated_inputs_with_other_labels_are_the_data_not_the_network(clash):
    r = np.random.RandomState(1)
    X = r.randn(10, 3)
    Y = (X[:, :1] > 0).astype(float)
    if clash:
        X, Y = np.vstack([X, X[:4]]), np.vstack([Y, 1 - Y[:4]])
    res = check(_learner(X, Y, "bce", "sigmoid"), X, Y, steps=2, probe_steps=600)
    assert res.code == "match", res.render()
    codes = [f.code for f in res.findings]
    if not clash:
        assert res.training.outcome == "fits", res.render()
        return
    assert res.training.outcome == "model_limitation" and "capacity" not in codes, res.render()
    f = next(f for f in res.findings if f.code == "contradictory_targets")
    assert "8 of your 14 rows repeat an input with another target" in f.evidence
    assert "at best 10/14 classified" in f.evidence


def test_the_regression_bound_is_the_groups_means():
    X = np.array([[0.0], [0.0], [1.0], [1.0]])
    y = np.array([[0.0], [2.0], [1.0], [1.0]])  # best fit: 1 everywhere, R^2 = 0
    found = contradiction(X, y, accuracy=False)
    assert found is not None and "at best R^2 = 0.000" in found[0].evidence and found[1] == 0.0
    assert contradiction(X, np.array([[0.0], [0.0], [1.0], [1.0]]), accuracy=False) is None
    near = np.array([[0.0], [0.01], [5.0], [5.0]])  # a clash too small to miss R^2 0.95
    assert contradiction(X, near, accuracy=False) is None


def test_a_model_far_below_the_bound_is_capacity_too():
    """One repeated row caps XOR at 39/40, but a linear model reaches about 30: both said."""
    r = np.random.RandomState(3)
    X = r.randn(40, 2)
    Y = ((X[:, 0] > 0) != (X[:, 1] > 0)).astype(float).reshape(-1, 1)
    X[39], Y[39] = X[0], 1 - Y[0]
    P = [r.randn(2, 1) * 0.1, np.zeros(1)]

    def grads(Xb, Yb):
        a = 1 / (1 + np.exp(-(Xb @ P[0] + P[1])))
        d = (a - Yb) / len(Xb)
        return [Xb.T @ d, d.sum(0)]

    a = from_gradients(
        P, ["[0]", "[1]"], grads, sizes=[2, 1], activations="sigmoid", loss="bce",
        optimizer="sgd", lr=0.5, layout="in_out",
    )  # fmt: skip
    res = check(a, X, Y, steps=2, probe_steps=300)
    codes = [f.code for f in res.findings]
    assert "contradictory_targets" in codes and "capacity" in codes, res.render()
    said = res.render().splitlines()[1]  # far below the bound: a note, capacity the answer
    assert "(capacity)" in said and res.finding("contradictory_targets").kind == "note", said


@pytest.mark.parametrize("rows", [1, 10])
def test_a_few_clashing_rows_are_the_data_set_s_own_not_a_shuffle(rows):
    """Review s32 F5: nnfs's spiral repeats its centre with every class (3 of 300 rows); the
    fix sent the user to look for X and y shuffled apart."""
    r = np.random.RandomState(0)
    X = r.randn(100, 2)
    y = (X[:, :1] > 0).astype(float)
    X[-rows:], y[-rows:] = X[:rows], 1 - y[:rows]
    f = contradiction(X, y, accuracy=True)[0]
    few = "these few rows are in your data as built" in f.hint
    assert few == (rows == 1) and ("shuffled" in f.hint) == (rows == 10), f.hint


@pytest.mark.parametrize("lr", [0.01, 1.0])
def test_a_slow_run_below_the_bound_adam_reaches_is_slow_training_too(lr):
    """Review s35 F6: SGD at lr 0.01 at 23/35, where Adam reaches the bound of 32, was said to
    be the data's alone; at lr 1 the declared run reaches the bound itself."""
    X = np.array([[0, 0]] * 10 + [[0, 1]] * 10 + [[1, 0]] * 10 + [[1, 1]] * 2 + [[0, 0]] * 3,
                 dtype=float)  # fmt: skip
    y = np.array([0] * 10 + [1] * 20 + [0] * 2 + [1] * 3, dtype=float).reshape(-1, 1)
    P = {"W": np.random.RandomState(0).randn(2, 1) / np.sqrt(2), "b": np.zeros(1)}

    def grads(Xb, yb):
        d = (1 / (1 + np.exp(-(Xb @ P["W"] + P["b"]))) - yb) / len(Xb)
        return {"W": Xb.T @ d, "b": d.sum(0)}

    a = from_gradients(P, ["W", "b"], grads, sizes=[2, 1], activations="sigmoid", loss="bce",
                       optimizer="sgd", lr=lr)  # fmt: skip
    res = check(a, X, y, steps=2, watch=0)
    assert res.code == "match" and "contradictory_targets" in res.codes(), res.render()
    assert ("slow_training" in res.codes()) == (lr == 0.01), res.render()
