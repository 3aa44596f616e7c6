"""A factor on a gradient that was too small before it parted for the factor to show there
(review s12): named with the other parameters that share it, not as a late change."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients


@pytest.mark.parametrize(("factor", "code"), [(-1.0, "sign_flip"), (2.0, "scale_factor")])
def test_a_factor_on_a_gradient_that_was_zero_before_is_named(factor, code):
    """Review s12: one row a step, XOR's first row [0, 0]: dW1 is exactly 0 at step 1 on
    both sides, so the factor has nothing to show on there; it was "W1 agrees at step 1 and
    parts from step 2 ... a constant factor would show from step 1" (what changes at that
    step?), where the factor it is named with every other parameter's."""
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([[0.0], [1.0], [1.0], [0.0]])
    r0 = np.random.default_rng(0)
    P = {"W1": r0.normal(size=(2, 3)), "b1": r0.normal(size=3) * 0.1,
         "W2": r0.normal(size=(3, 1)), "b2": np.zeros(1)}  # fmt: skip

    def grads(X, y):
        h = np.tanh(X @ P["W1"] + P["b1"])
        d = factor * 2 * (h @ P["W2"] + P["b2"] - y) / len(X)
        dh = d @ P["W2"].T * (1 - h**2)
        return {"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ d, "b2": d.sum(0)}

    a = from_gradients(P, list(P), grads, sizes=[2, 3, 1], activations="tanh,identity",
                       loss="mse", optimizer="sgd", lr=0.1)  # fmt: skip
    r = check(a, X, y, steps=3, batch_size=1, probe=False)
    assert r.codes() == [code], r.render()
    assert set(r.findings[0].params) == set(P), r.render()
