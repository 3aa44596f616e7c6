"""Hints on a learner's own errors that point at the real cause: a one-hot sized from the
batch's labels (no transpose), gradient keys numbered one layer low."""

from __future__ import annotations

import numpy as np
import pytest
from test_adapter_friction import DECL, P, X, Y, _grads

from nnparity.reference.learner import LearnerError, check, from_gradients


@pytest.mark.parametrize("layout", ["out_in", "in_out"])
@pytest.mark.parametrize("full", [False, True])
def test_a_one_hot_sized_from_the_batch_s_labels_is_said_not_a_transpose(full, layout):
    """Review s31 F3: Samson Zhang's ``one_hot(Y)`` makes Y.max() + 1 columns, so a batch
    without the last class broke ``A2 - one_hot_Y``; the hint said to transpose, which the
    adapter already did (s32 F3: samples as rows, y a vector: "give check y.reshape(-1, 1)")."""
    r = np.random.RandomState(0)
    Xs, ys = r.randn(10, 3), np.array([0, 1, 2, 0, 1, 2, 3, 0, 1, 2])
    Q = {"W": r.randn(4, 3) * 0.1, "b": np.zeros((4, 1))}

    def grads(Xc, yc):
        Z = Q["W"] @ Xc + Q["b"]
        A = np.exp(Z) / np.exp(Z).sum(0)
        onehot = np.zeros((yc.size, 4 if full else yc.max() + 1))
        onehot[np.arange(yc.size), yc] = 1
        dZ = (A - onehot.T) / yc.size
        return {"W": dZ @ Xc.T, "b": dZ.sum(1, keepdims=True)}

    R = {"W": Q["W"].T.copy(), "b": Q["b"][:, 0].copy()}

    def rows(X, y):  # the same program with samples as rows and y a vector
        A = np.exp(X @ R["W"] + R["b"])
        A /= A.sum(1, keepdims=True)
        onehot = np.zeros((y.size, 4 if full else y.max() + 1))
        onehot[np.arange(y.size), y] = 1
        dZ = (A - onehot) / y.size
        return {"W": X.T @ dZ, "b": dZ.sum(0)}

    kw = dict(sizes=[3, 4], activations="softmax", loss="cross_entropy", lr=0.1, batch_size=4)
    if layout == "in_out":
        a = from_gradients(R, ["W", "b"], rows, **kw)
    else:
        a = from_gradients(Q, ["W", "b"], lambda X, y: grads(X.T, y), layout="out_in", **kw)
    res = check(a, Xs, ys, steps=3, probe=False)
    if full:
        assert res.code == "match", res.render()
        return
    f = res.findings[0]
    assert f.code == "learner_exception" and "transpose there" not in f.hint, res.render()
    assert "this batch's y.max() + 1" in f.hint and "np.eye(4)[y]" in f.hint, res.render()


@pytest.mark.parametrize("shift", [0, 1])
def test_gradient_keys_numbered_one_layer_low_are_said_off_by_one(shift):
    """Review s31 F6: a backward loop writing layer L's gradients under L - 1 (dA0 among the
    keys) was told only that 'W2' has no entry."""

    def grads(X, y):
        g = _grads(X, y)
        return {f"d{k[0]}{int(k[1]) - shift}": v for k, v in g.items()} | {"dA0": X}

    a = from_gradients(P, list(P), grads, **DECL)
    if not shift:
        assert check(a, X, Y, steps=1, probe=False).code == "match"
        return
    said = r"no entry for 'W2'.*run from 0, the parameters' from 1: .* index is off by one"
    with pytest.raises(LearnerError, match=said):
        check(a, X, Y, steps=1, probe=False)
