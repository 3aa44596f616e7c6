"""A step's factor that is the learning rate's own number (review s22, finding 7): momentum
SGD with w += lr * v, v already holding lr * g, is c = lr times the declared step, and was
read first as "your gradient divides by 480 where this batch has 24 rows" (24 / 0.05). c = lr
is the learning rate applied twice, c = 1 / lr the learning rate left out."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_step


def _adapter(bug: str, lr: float = 0.05, momentum: float = 0.9):
    r = np.random.RandomState(0)
    P = {"W1": r.randn(3, 6) * 0.6, "b1": np.zeros(6), "W2": r.randn(6, 1) * 0.6, "b2": np.zeros(1)}
    V = {k: np.zeros_like(v) for k, v in P.items()}

    def step(X, y):
        h = np.tanh(X @ P["W1"] + P["b1"])
        out = h @ P["W2"] + P["b2"]
        d = (out - y) / (480 if bug == "480" else len(X))
        dz = d @ P["W2"].T * (1 - h**2)
        g = {"W1": X.T @ dz, "b1": dz.sum(0), "W2": h.T @ d, "b2": d.sum(0)}
        for k in P:
            if bug == "no_lr":
                P[k] -= g[k]
                continue
            V[k] = momentum * V[k] - lr * g[k]
            P[k] += (lr if bug == "twice" else 1.0) * V[k]

    opt = f"sgd(momentum={momentum})" if momentum else "sgd"
    decl = dict(sizes=[3, 6, 1], activations="tanh,identity", loss="half_sse", optimizer=opt)
    return from_step(P, list(P), step, lr=lr, **decl)


def _data():
    r = np.random.RandomState(1)
    X = r.randn(24, 3)
    return X, np.sin(2 * X[:, :1]) * X[:, 1:2]


@pytest.mark.parametrize("momentum", [0.9, 0.0])
def test_the_learning_rate_applied_twice_is_said_first(momentum):
    res = check(_adapter("twice", momentum=momentum), *_data(), steps=4, watch=0, probe=False)
    f = res.findings[0]
    assert f.code == "scale_factor", res.render()
    assert f.hint.startswith("c = lr = 0.05: your update applies the learning rate twice"), f.hint
    assert "480" not in f.hint


def test_the_learning_rate_left_out_is_said():
    res = check(_adapter("no_lr", lr=0.1, momentum=0.0), *_data(), steps=4, watch=0, probe=False)
    f = res.findings[0]
    assert f.code == "scale_factor", res.render()
    assert f.hint.startswith("c = 1/lr = 10: your update leaves out the learning rate"), f.hint


def test_a_divisor_that_is_not_the_learning_rate_is_still_read_as_rows():
    res = check(_adapter("480", lr=0.1), *_data(), steps=4, watch=0, probe=False)
    f = res.findings[0]
    assert f.code == "scale_factor", res.render()
    assert f.hint.startswith("c = 24/480: your gradient divides by 480"), f.hint
    assert "c = lr" not in f.hint
