"""The error handed down without the weight above, ``d * (1 - h**2)`` where
``d @ W2.T * (1 - h**2)`` belongs: with one output its (N, 1) dz broadcasts over the hidden
units and nothing raises (review s59d F8: unexplained at layer 1). Named ``broadcast_shape``,
in both layouts; the program with the product matches."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients

R = np.random.default_rng(3)
X = R.normal(size=(16, 3))
Y = np.tanh(X[:, :1] - X[:, 1:2])


@pytest.mark.parametrize("layout", ["in_out", "out_in"])
@pytest.mark.parametrize("bug", [False, True])
def test_the_error_handed_down_without_the_weight_is_named(bug, layout):
    r = np.random.default_rng(0)
    P = {"W1": r.normal(0, 0.5, (3, 6)), "b1": np.zeros(6), "W2": r.normal(0, 0.5, (6, 1)),
         "b2": np.zeros(1)}  # fmt: skip
    if layout == "out_in":
        P = {k: v.T.copy() if k[0] == "W" else v for k, v in P.items()}

    def grads(X, y):
        W1, W2 = (P["W1"], P["W2"]) if layout == "in_out" else (P["W1"].T, P["W2"].T)
        h = np.tanh(X @ W1 + P["b1"])
        d = 2 * (h @ W2 + P["b2"] - y) / len(X)
        dh = (d if bug else d @ W2.T) * (1 - h**2)
        gW1, gW2 = X.T @ dh, h.T @ d
        if layout == "out_in":
            gW1, gW2 = gW1.T, gW2.T
        return {"W1": gW1, "b1": dh.sum(0), "W2": gW2, "b2": d.sum(0)}

    a = from_gradients(P, list(P), grads, sizes=[3, 6, 1], activations="tanh,identity",
                       loss="mse", lr=0.1, layout=layout)  # fmt: skip
    res = check(a, X, Y, steps=3, probe=False)
    if not bug:
        assert res.code == "match", res.render()
        return
    f = res.findings[0]
    assert (res.code, f.code, f.layer) == ("implementation_bug", "broadcast_shape", 1), res.render()
    assert ("W2.T @ dz_2" if layout == "out_in" else "dz_2 @ W2.T") in f.hint, res.render()
