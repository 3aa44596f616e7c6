"""An unexplained gradient says where its error enters when the gradients around it agree:
the layers above (then it is what reaches the layer) or the layer's own bias (then dz is right
and dW's input is not). Tested both ways: the clause appears only when they agree."""

import numpy as np
from tanh_net import adapter, net, passes

from nnparity import check


def _check(bug: str):
    P, X, Y = net()

    def grads(X, Y):
        h, do, dh = passes(P, X, Y)
        if bug in ("signal", "both"):  # what reaches layer 1 is off
            dh = dh * (1 + h**2)
        Xd = X * np.array([2.0, 1, 1, 1]) if bug == "input" else X  # dW1 from another input
        dW2 = h.T @ do * (1 + 0.1 * np.cos(h.T @ do)) if bug == "both" else h.T @ do
        db1 = (dh * X[:, :1]).sum(0) if bug == "bias" else dh.sum(0)  # Zhou's copy-paste slip
        dW1 = Xd.T @ dh
        if bug == "entry":  # one weight's line reads the input above it (Zhou: x[0] for x[1])
            dW1[1, 0] = X[:, 0] @ dh[:, 0]
        return [dW1, db1, dW2, do.sum(0)]

    return check(adapter(P, grads), X, Y, steps=2, probe=False)


def _evidence(r, name):
    return next(f.evidence for f in r.findings if f.params == (name,))


def test_an_error_in_what_reaches_layer_1_says_the_layers_above_agree():
    r = _check("signal")
    assert r.code == "implementation_bug"
    assert "the gradients above agree ([2], [3]), so the error enters at layer 1" in _evidence(
        r, "[0]"
    ), r.render()


def test_an_error_in_dW_alone_says_the_bias_agrees():
    r = _check("input")
    assert r.code == "implementation_bug"
    assert "[1] agrees, so dz1's sum over the batch is right" in _evidence(r, "[0]"), r.render()


def test_no_clause_for_layer_1_when_the_layer_above_parts_too():
    r = _check("both")
    assert r.code == "implementation_bug"
    assert "agree" not in _evidence(r, "[0]") + _evidence(r, "[1]"), r.render()
    assert "[3] agrees, so dz2's sum over the batch is right" in _evidence(r, "[2]"), r.render()


def test_an_error_in_db_alone_says_the_weights_agree():
    """Review s16a (Victor Zhou's net): db1 built with an input's factor copied from dW1's
    line was said to enter through W2, f'(z1) or the cached input, which would break W1; then
    (s16a) "W1 agrees, so dz1 is right: what parts is b1's own line"; since s28 the line is
    named: one row of W1's gradient (weight_line.py ``bias_as_weight``)."""
    r = _check("bias")
    assert r.code == "implementation_bug"
    f = r.findings[0]
    assert (f.code, f.params) == ("wrong_cached_activation", ("[1]",)), r.render()
    assert "your gradient is [0]'s row 0, dz1 times input 0" in f.evidence, r.render()


def test_an_error_in_one_entry_says_the_others_agree():
    """Review s19a (Victor Zhou's per-weight lines): d_h1_d_w2 = x[0] * ... where x[1]
    belongs parts one entry of four; the evidence says so, and where every entry of a
    product parts (dW1 from another input column, below) it does not."""
    r = _check("entry")
    assert r.code == "implementation_bug"
    assert "only 1 of 20 entries parts, at (1, 0), and every other agrees" in _evidence(r, "[0]"), (
        r.render()
    )
    assert "entries part" not in _evidence(_check("input"), "[0]")
