"""Targets read as other classes (relabel.py): one-hot rows indexed by y - 1 on 0-based labels
(Ng's ex4 labels are 1..10), y + 1, K - 1 - y, or binary targets flipped: the gradients and
loss are PyTorch's on the relabelled targets, named ``target_encoding`` (review s28 b11: an
unexplained gradient). Both ways: the labels as given match, and a slip that is no
relabelling (a doubled output gradient) is not named so."""

import numpy as np
import pytest
from test_rows_mispaired import _cs231n

from nnparity import check
from nnparity.reference.learner import from_gradients

RELABEL = {
    "y - 1": (lambda y: (y - 1) % 3, "shifted down by one"),
    "y + 1": (lambda y: (y + 1) % 3, "shifted up by one"),
    "K - 1 - y": (lambda y: 2 - y, "reversed"),
}


@pytest.mark.parametrize("how", RELABEL)
def test_class_labels_read_as_other_classes_are_named(how):
    relabel, said = RELABEL[how]
    a, X, y = _cs231n(relabel)
    r = check(a, X, y, steps=3, probe=False)
    assert r.code == "implementation_bug", r.render()
    assert r.codes()[0] == "target_encoding", r.render()
    assert said in r.findings[0].evidence


def test_labels_as_given_match_and_another_slip_is_not_a_relabelling():
    a, X, y = _cs231n(lambda y: y)
    assert check(a, X, y, steps=3, probe=False).code == "match"
    rng = np.random.RandomState(1)
    Xb = rng.randn(16, 3)
    yb = (Xb[:, 0] > 0).astype(float)[:, None]
    P = [rng.randn(3, 4) * 0.5, np.zeros(4), rng.randn(4, 1) * 0.5, np.zeros(1)]

    def grads(flip, double):
        def g(X, y):
            t = 1 - y if flip else y
            h = np.tanh(X @ P[0] + P[1])
            p = 1 / (1 + np.exp(-(h @ P[2] + P[3])))
            d = (p - t) / len(X) * (2 if double else 1)
            dh = d @ P[2].T * (1 - h**2)
            return [X.T @ dh, dh.sum(0), h.T @ d, d.sum(0)]

        return g

    def run(flip, double):
        a = from_gradients(P, [f"[{i}]" for i in range(4)], grads(flip, double),
                           sizes=[3, 4, 1], activations="tanh,sigmoid", loss="bce",
                           optimizer="sgd", lr=0.1)  # fmt: skip
        return check(a, Xb, yb, steps=3, probe=False)

    flipped = run(True, False)
    assert flipped.codes()[0] == "target_encoding", flipped.render()
    assert "1 - y" in flipped.findings[0].evidence
    doubled = run(False, True)
    assert doubled.code == "implementation_bug" and "target_encoding" not in doubled.codes()
    assert run(False, False).code == "match"
