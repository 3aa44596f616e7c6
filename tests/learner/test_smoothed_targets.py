"""Label-smoothed one-hot targets handed to the learner (review s14): the check refused them
with "for one-hot targets use y.argmax(1)", a fix that changes the learner's loss. Rows of
(1 - eps) one-hot + eps/K are PyTorch's cross_entropy(label_smoothing=eps) on their argmax:
declared so, they match and the learner keeps its own y; undeclared, the message names the
declaration with eps read off the rows."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_loss
from nnparity.reference.learner.paths import LearnerError
from nnparity.scratch.errors import DataError

NAMES = ["W1", "b1", "W2", "b2"]
EPS = 0.1


class Net:
    def __init__(self, hard: bool = False):
        r = np.random.RandomState(1)
        self.P = {"W1": 0.5 * r.randn(4, 8), "b1": np.zeros(8),
                  "W2": 0.5 * r.randn(8, 3), "b2": np.zeros(3)}  # fmt: skip
        self.hard = hard  # the bug: the gradient taken against the hard labels

    def forward(self, X):
        P = self.P
        h = np.tanh(X @ P["W1"] + P["b1"])
        z = h @ P["W2"] + P["b2"]
        e = np.exp(z - z.max(1, keepdims=True))
        return h, e / e.sum(1, keepdims=True)

    def loss_grads(self, X, y):
        h, p = self.forward(X)
        t = np.eye(3)[y.argmax(1)] if self.hard else y
        dz = (p - t) / len(X)
        dh = dz @ self.P["W2"].T * (1 - h**2)
        loss = -float(np.sum(y * np.log(p))) / len(X)
        return loss, {"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ dz, "b2": dz.sum(0)}


def _data():
    r = np.random.RandomState(2)
    X, labels = r.randn(24, 4), r.randint(0, 3, 24)
    Y = np.full((24, 3), EPS / 3)
    Y[np.arange(24), labels] += 1 - EPS
    return X, Y


def _check(net: Net, loss: str):
    a = from_loss(net.P, net.loss_grads, forward=lambda X: net.forward(X)[1], names=NAMES,
                  sizes=[4, 8, 3], activations="tanh,softmax", loss=loss, optimizer="sgd",
                  lr=0.5)  # fmt: skip
    return check(a, *_data(), steps=3, probe=False)


def test_smoothed_rows_declared_as_label_smoothing_match():
    assert _check(Net(), "cross_entropy(label_smoothing=0.1)").code == "match"


def test_the_gradient_against_the_hard_labels_is_no_match():
    r = _check(Net(hard=True), "cross_entropy(label_smoothing=0.1)")
    assert r.code == "implementation_bug", r.render()


@pytest.mark.parametrize("loss", ["cross_entropy", "cross_entropy(label_smoothing=0.2)"])
def test_undeclared_or_other_smoothing_names_the_declaration(loss):
    with pytest.raises((DataError, LearnerError), match=r"label_smoothing=0\.1\)'"):
        _check(Net(), loss)


def test_hard_labels_under_declared_smoothing_are_no_safe_log_convention():
    """The cross-entropy clip candidates (a safe log's epsilon) take the declared loss's own
    targets where no clip acts: the hard labels' gradient is never a 'convention' of them
    (a false match before: `clip_convention` at eps 1e-4 took hard labels)."""
    r = _check(Net(hard=True), "cross_entropy(label_smoothing=0.1)")
    assert "clip_convention" not in [f.code for f in r.findings], r.render()
