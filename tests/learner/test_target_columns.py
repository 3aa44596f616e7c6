"""CS231n's softmax classifier with the correct classes indexed by a colon, ``probs[:, y]``
and ``dscores[:, y] -= 1``, where ``probs[np.arange(N), y]`` belongs (review s59b F1): every
row subtracts 1 at each class the batch names. It was a ``loss_mismatch`` about axes and
clips beside four unexplained gradients; it is named with the arange fix, and the program
indexed right matches."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_loss


def _net(colon: bool):
    r = np.random.default_rng(2)
    P = {"W1": r.normal(0, 0.3, (6, 10)), "b1": np.zeros(10),
         "W2": r.normal(0, 0.3, (10, 4)), "b2": np.zeros(4)}  # fmt: skip

    def loss(X, y):
        N = len(X)
        h = np.maximum(0, X @ P["W1"] + P["b1"])
        s = h @ P["W2"] + P["b2"]
        p = np.exp(s - s.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        rows = slice(None) if colon else np.arange(N)
        value = -np.log(p[rows, y]).sum() / N
        d = p.copy()
        d[rows, y] -= 1
        d /= N
        dh = d @ P["W2"].T * (h > 0)
        return value, {"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ d, "b2": d.sum(0)}

    return from_loss(P, loss, sizes=[6, 10, 4], activations="relu,identity",
                     loss="cross_entropy", lr=0.5)  # fmt: skip


R = np.random.default_rng(8)
X = R.normal(size=(30, 6))
Y = R.integers(0, 4, 30)


@pytest.mark.parametrize("colon", [True, False])
def test_every_row_at_every_samples_class_is_named(colon):
    r = check(_net(colon), X, Y, steps=4, probe=False)
    if not colon:
        assert r.code == "match", r.render()
        return
    assert r.code == "implementation_bug", r.render()
    f = r.findings[0]
    assert (f.code, f.params) == ("rows_mispaired", ("W2", "b2")), r.render()
    assert "np.arange(N)" in f.hint, r.render()
