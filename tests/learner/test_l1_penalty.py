"""An L1 penalty in the learner's gradients (lambda sign(W) on the weights) is named as one,
which no declaration expresses. Tested both ways: without it the same learner matches."""

import numpy as np
import pytest
from tanh_net import adapter, net, passes

from nnparity import check


@pytest.mark.parametrize("lam", [0.0, 0.01])
def test_an_l1_penalty_is_named_as_one(lam):
    P, X, Y = net()

    def grads(X, Y):
        h, do, dh = passes(P, X, Y)
        return [X.T @ dh + lam * np.sign(P[0]), dh.sum(0), h.T @ do + lam * np.sign(P[2]),
                do.sum(0)]  # fmt: skip

    a = adapter(P, grads)
    res = check(a, X, Y, steps=2, probe=False)
    if not lam:
        assert res.code == "match", res.render()
        return
    assert res.codes() == ["regularization_mismatch"], res.render()
    assert "0.01 sign(W)" in res.findings[0].evidence and "L1" in res.findings[0].evidence
