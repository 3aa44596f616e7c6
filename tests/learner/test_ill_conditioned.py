"""A linear model that can represent its data (least squares fits) but trains slowly on
nearly collinear inputs is ``ill_conditioned``, not ``capacity`` "add units" (review s30b F5:
x2 = x1 + 0.01 noise, y = 100 x1 - 100 x2); one that cannot is still ``capacity``."""

from __future__ import annotations

import numpy as np

from nnparity.reference.learner import check, from_gradients


def _linear():
    P = {"W": np.zeros((2, 1)), "b": np.zeros(1)}

    def grads(X, y):
        d = 2 * (X @ P["W"] + P["b"] - y) / len(X)
        return {"W": X.T @ d, "b": d.sum(0)}

    return from_gradients(P, ["W", "b"], grads, sizes=[2, 1], activations="identity",
                          loss="mse", optimizer="sgd", lr=0.1)  # fmt: skip


def test_collinear_inputs_a_linear_map_fits_are_ill_conditioned():
    r = np.random.default_rng(0)
    x1 = r.normal(size=(40, 1))
    X = np.hstack([x1, x1 + 0.01 * r.normal(size=(40, 1))])
    res = check(_linear(), X, 100 * X[:, :1] - 100 * X[:, 1:], steps=2, watch=0)
    assert res.code == "match" and res.training_codes() == ["ill_conditioned"], res.render()
    f = next(f for f in res.findings if f.code == "ill_conditioned")
    assert "condition number" in f.evidence and "standardise the inputs" in f.hint


def test_data_no_linear_map_fits_stay_capacity():
    r = np.random.default_rng(1)
    X = r.normal(size=(40, 2))
    res = check(_linear(), X, X[:, :1] * X[:, 1:], steps=2, watch=0)
    assert "ill_conditioned" not in res.training_codes(), res.render()
    assert res.training.outcome == "model_limitation", res.render()
