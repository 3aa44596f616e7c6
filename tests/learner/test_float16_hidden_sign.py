"""A float16 program whose bias gradient has the wrong sign, hidden at step 1 below float16's
absolute tolerance (a second layer at 1e-3 scale) and visible from step 2: a sign flip, not
"a constant factor would show from step 1, so no factor is named" (review s30a F6); float16
gradients are judged on a scale of at least 1, and what could show before is read alike."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_loss

F = np.float16


def _adapter(sign: float):
    r = np.random.RandomState(0)
    P = {"W1": (r.randn(5, 16) / np.sqrt(5)).astype(F), "b1": np.zeros(16, F),
         "W2": (1e-3 * r.randn(16, 3)).astype(F), "b2": np.zeros(3, F)}  # fmt: skip

    def loss(X, y=None):
        h = np.maximum(0, X @ P["W1"] + P["b1"])
        s = h @ P["W2"] + P["b2"]
        if y is None:
            return s
        e = np.exp(s - s.max(1, keepdims=True))
        prob = e / e.sum(1, keepdims=True)
        n = len(X)
        ds = prob.copy()
        ds[np.arange(n), y] -= 1
        ds /= n
        dh = ds @ P["W2"].T
        dh[h <= 0] = 0
        g = {"W1": X.T @ dh, "b1": F(sign) * dh.sum(0), "W2": h.T @ ds, "b2": ds.sum(0)}
        return -np.log(prob[np.arange(n), y]).mean(), g

    return from_loss(P, loss, forward=loss, sizes=[5, 16, 3], activations="relu,identity",
                     loss="cross_entropy", optimizer="sgd", lr=0.5)  # fmt: skip


@pytest.mark.parametrize("sign", [-1.0, 1.0])
def test_a_sign_flip_hidden_at_step_1_in_float16_is_named(sign):
    r = np.random.RandomState(1)
    X = r.randn(64, 5).astype(F)
    res = check(_adapter(sign), X, np.argmax(X[:, :3], axis=1), steps=3, watch=20, probe=False)
    if sign > 0:
        assert res.code == "match", res.render()
        return
    assert res.code == "implementation_bug", res.render()
    f = res.findings[0]
    assert (f.code, f.params) == ("sign_flip", ("b1",)), res.render()
