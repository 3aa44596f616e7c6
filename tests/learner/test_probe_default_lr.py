"""A learning rate equal to its optimizer's default (SGD's 0.001) is still a learning rate the
probe can raise: a spec leaves a default out (``sgd(lr=0.001)`` reads back as ``sgd``), and the
probe read that as "no lr", so a net that is only slow was told "use momentum or Adam", which
at lr 0.001 does not fit in the probe's own budget either (review s25g F2)."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients
from nnparity.reference.learner.conventions import lr_of
from nnparity.scratch import Spec

X = np.array([[0.0, 0], [0, 1], [1, 0], [1, 1]])
Y = np.array([[0.0], [1], [1], [0]])


@pytest.mark.parametrize(("opt", "lr"), [("sgd", 0.001), ("sgd(lr=0.001)", None)])
def test_a_slow_net_at_the_default_lr_is_told_to_raise_it(opt, lr):
    r = np.random.RandomState(0)
    W = [r.randn(2, 8) / np.sqrt(2), r.randn(8, 1) / np.sqrt(8)]
    B = [np.zeros(8), np.zeros(1)]

    def grads(X, y):
        h = np.tanh(X @ W[0] + B[0])
        a = 1 / (1 + np.exp(-(h @ W[1] + B[1])))
        d = (a - y) / a.size
        dh = d @ W[1].T * (1 - h**2)
        return [X.T @ dh, dh.sum(0), h.T @ d, d.sum(0)]

    kw = {"lr": lr} if lr is not None else {}
    a = from_gradients({"W": W, "B": B}, ["W[0]", "B[0]", "W[1]", "B[1]"], grads, sizes=[2, 8, 1],
                       activations="tanh,sigmoid", loss="bce", optimizer=opt, **kw)  # fmt: skip
    res = check(a, X, Y, steps=2, watch=0)
    assert res.code == "match", res.render()
    (f,) = [f for f in res.findings if f.code == "slow_training"]
    assert "raise the learning rate" in f.hint, f.render() if hasattr(f, "render") else f.hint


def test_lr_of_reads_the_default_back():
    assert lr_of(Spec.parse("2-1 sigmoid opt=sgd").opt) == pytest.approx(1e-3)
    assert lr_of(Spec.parse("2-1 sigmoid opt=rmsprop(lr=0.5)").opt) == 0.5
