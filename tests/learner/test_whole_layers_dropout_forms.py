"""Dropout in whole learner networks, beside a loss value computed apart from the gradients
(review s59a F3) and in the paper's non-inverted form declared with ``inverted=false``
(review s60a F5)."""

from __future__ import annotations

import numpy as np
import pytest
from test_whole_layers import _load, _run, _seeded_numpy  # noqa: F401 - autouse

from nnparity.reference.learner import from_layers


@pytest.mark.parametrize("scaled_loss", [False, True])
def test_a_loss_value_computed_apart_does_not_hide_the_backward_mask(scaled_loss):
    """Review s59a F3 (Grokking Deep Learning's batch dropout): the backward masks without
    1 / keep, the loss returned as a sum where the gradients are a mean's; the top layer's
    gradients agree, so the value parts apart from them: still dropout_mask, not "your
    forward pass differs"."""
    m = _load("net_nnfs_dropout_ok")
    d = m.dropout1

    def backward(dvalues):
        d.dinputs = dvalues * (d.binary_mask != 0)  # the mask without its 1 / keep

    d.backward = backward
    if scaled_loss:
        inner = m.forward_backward
        m.forward_backward = lambda X, y: 10 * inner(X, y)
    r = _run(from_layers([m.dense1, m.dense2], m.forward_backward, forward=m.predict,
                         spec="4 dense(16) relu dropout(0.2) dense(3) loss=cross_entropy",
                         masks=[d], optimizer="sgd", lr=0.5, data=(m.X, m.Y)))  # fmt: skip
    f = r.findings[0]
    assert (r.code, f.code) == ("implementation_bug", "dropout_mask"), r.render()
    assert "without 1 / keep" in f.evidence, r.render()


@pytest.mark.parametrize("bug", ["", "no_mask_backward", "test_identity", "test_identity_eps"])
def test_declared_non_inverted_dropout_with_a_slip_is_named(bug):
    """Review s60a F5: dropout(p,inverted=false) declared (Deep Learning from Scratch's form),
    with its backward's mask left out, or its test pass the identity (beside the book's 1e-7
    in the log, a loss value 3e-7 apart, once read as "PyTorch's times 1")."""
    m = _load("net_nnfs_dropout_ok")
    d = m.dropout1

    def forward(inputs, training=True):
        d.inputs = inputs
        if not training:
            d.output = inputs * (1.0 if bug.startswith("test_identity") else d.rate)
            return
        d.binary_mask = np.random.binomial(1, d.rate, size=inputs.shape)
        d.output = inputs * d.binary_mask

    def backward(dvalues):
        d.dinputs = dvalues if bug == "no_mask_backward" else dvalues * d.binary_mask

    d.forward, d.backward = forward, backward
    if bug.endswith("_eps"):
        inner = m.forward_backward
        m.forward_backward = lambda X, y: inner(X, y) + 3e-7  # a value computed apart
    spec = "4 dense(16) relu dropout(0.2,inverted=false) dense(3) loss=cross_entropy"
    r = _run(from_layers([m.dense1, m.dense2], m.forward_backward, forward=m.predict, spec=spec,
                         masks=[d], optimizer="sgd", lr=0.5, data=(m.X, m.Y)))  # fmt: skip
    if not bug:
        assert r.code == "match", r.render()
        return
    f = r.findings[0]
    assert r.code == "implementation_bug", r.render()
    if bug == "no_mask_backward":
        assert (f.code, "backward applies no mask" in f.evidence) == ("dropout_mask", True)
        return
    assert (f.code, f.params) == ("layer_mismatch", ("forward",)), r.render()
    assert "scale each dropout's input by 1 - p (declared inverted=false)" in f.hint, r.render()


def test_non_inverted_dropout_is_dropout_mask_said_as_a_form():
    """Review s28 d: x * mask with no 1 / keep, forward and backward (Srivastava's form) read as
    "a mask drawn again in backward"."""
    m = _load("net_nnfs_dropout_ok")
    d = m.dropout1

    def forward(inputs, training=True):
        d.inputs = inputs
        if not training:
            d.output = inputs * d.rate  # the paper's test pass
            return
        d.binary_mask = np.random.binomial(1, d.rate, size=inputs.shape)  # no / rate
        d.output = inputs * d.binary_mask

    d.forward = forward
    r = _run(m.nnparity_adapter())
    f = r.findings[0]
    assert (r.code, f.code, f.layer) == ("implementation_bug", "dropout_mask", 2), r.render()
    assert "non-inverted dropout" in f.evidence, r.render()
    assert "dropout(p,inverted=false)" in f.hint and "1 / keep in training" in f.hint, r.render()
    # declared (review s59a F1, s59c F2: Deep Learning from Scratch's Dropout), it matches,
    # its test pass held to (1 - p) x too
    spec = "4 dense(16) relu dropout(0.2,inverted=false) dense(3) loss=cross_entropy"
    a = from_layers([m.dense1, m.dense2], m.forward_backward, forward=m.predict, spec=spec,
                    masks=[d], optimizer="sgd", lr=0.5, data=(m.X, m.Y))  # fmt: skip
    r = _run(a)
    assert r.code == "match", r.render()


def test_a_loss_value_a_whole_factor_off_is_said_as_a_reduction():
    """Review s61a F6: a correct layered net returning its loss times 10 (a sum where the mean
    belongs) was told "a clip or an offset inside the loss"."""
    m = _load("net_nnfs_dropout_ok")
    inner = m.forward_backward
    m.forward_backward = lambda X, y: 10 * inner(X, y)
    spec = "4 dense(16) relu dropout(0.2) dense(3) loss=cross_entropy"
    r = _run(from_layers([m.dense1, m.dense2], m.forward_backward, forward=m.predict, spec=spec,
                         masks=[m.dropout1], optimizer="sgd", lr=0.5, data=(m.X, m.Y)))  # fmt: skip
    assert r.code == "match", r.render()
    (f,) = [f for f in r.findings if f.code == "loss_value_mismatch"]
    assert "ratio 10: a sum where the mean belongs" in f.evidence, r.render()
