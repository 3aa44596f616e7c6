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


@pytest.mark.parametrize("term", ["l1", "l2", "l1+l2"])
def test_an_l1_term_written_where_l2_is_declared_is_named(term):
    """With l2 declared, PyTorch's gradients hold l2 W: the L1 term is the learner's residual
    plus l2 W, not the residual alone (review s13: three unexplained mismatches). The L2 term
    written as declared matches."""
    P, X, Y = net()

    def grads(X, Y):
        h, do, dh = passes(P, X, Y)
        pen = {"l1": lambda W: 0.01 * np.sign(W), "l2": lambda W: 0.01 * W,
               "l1+l2": lambda W: 0.01 * W + 0.01 * np.sign(W)}[term]  # fmt: skip
        return [X.T @ dh + pen(P[0]), dh.sum(0), h.T @ do + pen(P[2]), do.sum(0)]

    res = check(adapter(P, grads, l2=0.01), X, Y, steps=2, probe=False)
    if term == "l2":
        assert res.code == "match", res.render()
        return
    assert res.codes() == ["regularization_mismatch"], res.render()
    ev, fix = res.findings[0].evidence, res.findings[0].hint
    if term == "l1+l2":  # beside the declared term (review s13b)
        assert "plus 0.01 sign(W)" in ev and "beside the declared L2" in ev, ev
        return
    assert "0.01 sign(W)" in ev and "l2=0.01 is declared" in ev and "0.01 * W" in fix
