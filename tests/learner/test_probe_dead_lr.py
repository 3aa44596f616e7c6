"""Units dead at the start are no cause where your own weights and data fit at another
learning rate with them still dead: the lr alone is said (review s24b F5: a 10-layer ReLU net
at He init was told "dead_units ... He init" eight times beside "lr = 0.0333 fits", and the
lower lr fits with those units dead)."""

from __future__ import annotations

import numpy as np

from nnparity.reference.learner import check, from_gradients

SIZES = [1, 10, 10, 10, 10, 10, 10, 10, 10, 10, 1]


def test_dead_units_beside_a_learning_rate_that_fits_are_not_said():
    r = np.random.RandomState(0)
    W = [r.randn(a, b) * np.sqrt(2 / a) for a, b in zip(SIZES[:-1], SIZES[1:], strict=True)]
    B = [np.zeros(b) for b in SIZES[1:]]
    X = np.linspace(-3, 3, 40)[:, None]
    Y = np.sin(X)

    def grads(X, y):
        zs, As = [], [X]
        for i in range(len(W)):
            z = As[-1] @ W[i] + B[i]
            zs.append(z)
            As.append(np.maximum(z, 0) if i < len(W) - 1 else z)
        d = 2 * (As[-1] - y) / y.size
        out = [None] * (2 * len(W))
        for i in reversed(range(len(W))):
            out[2 * i], out[2 * i + 1] = As[i].T @ d, d.sum(0)
            if i:
                d = d @ W[i].T * (zs[i - 1] > 0)
        return out

    names = [f"{k}[{i}]" for i in range(len(W)) for k in "WB"]
    P = {"W": W, "B": B}
    acts = ",".join(["relu"] * 9 + ["identity"])
    a = from_gradients(P, names, grads, sizes=SIZES, activations=acts, loss="mse", lr=0.1)
    res = check(a, X, Y, steps=2, watch=0)
    assert res.code == "match", res.render()
    assert res.training.outcome == "model_limitation"
    codes = [f.code for f in res.findings]
    assert "learning_rate" in codes and "dead_units" not in codes, res.render()
