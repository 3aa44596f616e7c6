"""The training probe scores its output on every row against the targets of the same rows.
Where the batches are reordered (a short last batch compared second, ``row_order``), the
outputs came in the batches' order while the targets stayed in the data's: a correct linear
regression fitted to a loss of 2e-16 read "R^2 = -0.763", and a classifier at a
cross-entropy of 0.15 "42/100 classified" (review s20a, t48 and t32)."""

from __future__ import annotations

import numpy as np

from nnparity.reference.learner import check, from_gradients
from nnparity.reference.learner.probe_run import in_batch_order


def test_a_regression_with_a_short_last_batch_compared_second_fits():
    r = np.random.RandomState(1)
    X = r.rand(40, 4)
    y = (X @ np.array([1.0, -2.0, 0.5, 1.5]))[:, None] + 0.3
    P = {"W": np.random.RandomState(0).rand(4, 1) - 0.5, "b": np.zeros(1)}

    def grads(Xb, yb):
        d = 2 * (Xb @ P["W"] + P["b"] - yb) / len(Xb)
        return {"W": Xb.T @ d, "b": d.sum(0)}

    a = from_gradients(P, ["W", "b"], grads, sizes=[4, 1], activations="identity",
                       loss="mse", optimizer="sgd", lr=0.5)  # fmt: skip
    res = check(a, X, y, steps=2, batch_size=16, watch=0)
    assert res.code == "match", res.render()
    assert "short_batch_compared" in res.codes(), res.render()  # the batches were reordered
    assert res.training.outcome == "fits", res.render()
    assert res.training.reached.startswith("R^2 = 1.000"), res.render()


def test_rows_follow_the_batches_only_where_those_reorder_them():
    X, y = np.arange(10.0)[:, None], np.arange(10) * 10
    same = [np.arange(0, 4), np.arange(4, 8), np.arange(8, 10)]
    assert in_batch_order(X, y, same)[0] is X
    moved = [np.arange(0, 4), np.arange(8, 10), np.arange(4, 8)]
    Xo, yo = in_batch_order(X, y, moved)
    assert Xo.ravel().tolist() == [0, 1, 2, 3, 8, 9, 4, 5, 6, 7]
    assert (yo == 10 * Xo.ravel()).all()  # each row keeps its own target
