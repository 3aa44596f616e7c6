"""An L1 penalty in the learner's gradients (lambda sign(W) on the weights) is named as one,
which no declaration expresses. Tested both ways: without it the same learner matches."""

import numpy as np
import pytest

from nnparity import check
from nnparity.reference.learner import from_gradients


@pytest.mark.parametrize("lam", [0.0, 0.01])
def test_an_l1_penalty_is_named_as_one(lam):
    r = np.random.RandomState(0)
    P = [r.randn(4, 5) * 0.5, np.zeros(5), r.randn(5, 3) * 0.5, np.zeros(3)]
    X, Y = r.randn(12, 4), r.randn(12, 3)

    def grads(X, Y):
        W1, b1, W2, b2 = P
        h = np.tanh(X @ W1 + b1)
        do = 2 * (h @ W2 + b2 - Y) / Y.size
        dh = do @ W2.T * (1 - h**2)
        return [X.T @ dh + lam * np.sign(W1), dh.sum(0), h.T @ do + lam * np.sign(W2), do.sum(0)]

    a = from_gradients(
        P, [f"[{i}]" for i in range(4)], grads, sizes=[4, 5, 3], activations="tanh,identity",
        loss="mse", optimizer="sgd", lr=0.1, layout="in_out",
    )  # fmt: skip
    res = check(a, X, Y, steps=2, probe=False)
    if not lam:
        assert res.code == "match", res.render()
        return
    assert res.codes() == ["regularization_mismatch"], res.render()
    assert "0.01 sign(W)" in res.findings[0].evidence and "L1" in res.findings[0].evidence
