"""One-hot targets on the layered path (review s16a: ML-From-Scratch's CrossEntropy takes
one-hot rows; the layered check refused them, "cross_entropy takes class indices", where the
dense path reads them). The twin takes their argmax; the learner keeps its rows."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_loss

SPEC = "4 flatten dense(8) tanh dense(3) loss=cross_entropy opt=sgd(lr=0.5)"  # layered


def _adapter(bug: bool):
    r = np.random.RandomState(1)
    P = {"W1": 0.5 * r.randn(4, 8), "b1": np.zeros(8), "W2": 0.5 * r.randn(8, 3),
         "b2": np.zeros(3)}  # fmt: skip

    def forward(X):
        h = np.tanh(X @ P["W1"] + P["b1"])
        return h, h @ P["W2"] + P["b2"]

    def loss_grads(X, Y):  # Y one-hot (N, 3)
        h, z = forward(X)
        e = np.exp(z - z.max(1, keepdims=True))
        p = e / e.sum(1, keepdims=True)
        dz = (p - Y) / (1 if bug else len(X))
        dh = dz @ P["W2"].T * (1 - h**2)
        loss = -float(np.sum(Y * np.log(p))) / len(X)
        return loss, {"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ dz, "b2": dz.sum(0)}

    return from_loss(P, loss_grads, forward=lambda X: forward(X)[1], names=list(P), spec=SPEC)


@pytest.mark.parametrize("bug", [False, True])
def test_one_hot_rows_are_read_on_the_layered_path(bug):
    r = np.random.RandomState(2)
    X, Y = r.randn(24, 4), np.eye(3)[r.randint(0, 3, 24)]
    res = check(_adapter(bug), X, Y, steps=3, probe=False)
    assert res.code == ("implementation_bug" if bug else "match"), res.render()
    if bug:  # the mean left out: N times PyTorch's
        assert res.findings[0].code == "scale_factor", res.render()


def test_rows_that_are_not_one_hot_are_refused_with_the_forms_taken():
    X, Y = np.zeros((4, 4)), np.full((4, 3), 0.5)
    with pytest.raises(Exception, match=r"cross_entropy takes class indices"):
        check(_adapter(False), X, Y, steps=1, probe=False)
