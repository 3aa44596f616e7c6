"""An L2 penalty in the gradients and once more in the update, declared l2 = 0.05: the update
decays by 2 l2. It was named with a guess at the batch size ("n = 50, the mini-batch's rows,
where the training set's 100 belong?" on 50 rows, review s59b F11); it says the penalty is
counted twice. The update without the second decay matches."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients


@pytest.mark.parametrize("twice", [False, True])
def test_a_penalty_counted_twice_is_said_so(twice):
    r = np.random.default_rng(2)
    X = r.normal(size=(50, 3))
    y = np.tanh(X @ np.array([[1.0], [-0.5], [0.3]]))
    P = {"W1": r.normal(0, 0.5, (3, 6)), "b1": np.zeros(6), "W2": r.normal(0, 0.5, (6, 1)),
         "b2": np.zeros(1)}  # fmt: skip

    def grads(X, y):
        h = np.tanh(X @ P["W1"] + P["b1"])
        d = 2 * (h @ P["W2"] + P["b2"] - y) / len(X)
        dh = d @ P["W2"].T * (1 - h**2)
        return {"W1": X.T @ dh + 0.05 * P["W1"], "b1": dh.sum(0), "W2": h.T @ d + 0.05 * P["W2"],
                "b2": d.sum(0)}  # fmt: skip

    last = {}

    def both(X, y):
        last["g"] = grads(X, y)
        return last["g"]

    def step(X, y):
        for k, g in last["g"].items():
            P[k] -= 0.1 * (g + (0.05 * P[k] if twice and k[0] == "W" else 0))

    a = from_gradients(P, list(P), both, step=step, sizes=[3, 6, 1], activations="tanh,identity",
                       loss="mse", lr=0.1, l2=0.05)  # fmt: skip
    res = check(a, X, y, steps=3, probe=False)
    if not twice:
        assert res.code == "match", res.render()
        return
    f = res.findings[0]
    assert (res.code, f.code) == ("implementation_bug", "optimizer_update_mismatch"), res.render()
    assert "counted twice" in f.evidence and "mini-batch's rows" not in f.evidence, res.render()
