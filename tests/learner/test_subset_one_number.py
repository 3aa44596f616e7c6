"""A departure in one parameter of fewer than three numbers (a logistic regression's bias) is
named over every step seen, a fitted value from nine numbers (review s31 F1: the AdamOptim class
of a much-read blog post keeps ``v_db = beta2 v_db + (1 - beta2) db``, unsquared; "no known adam
variant" while the same slip on the weights was named; s32 F2: beta2, plain SGD on b alone)."""

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients


def _learner(bias_v: str):
    r = np.random.RandomState(0)
    P = {"w": r.randn(3, 1) * 0.1, "b": np.zeros(1)}
    state = {"t": 0, "m": {k: 0.0 for k in P}, "v": {k: 0.0 for k in P}}

    def grads(X, y):
        a = 1 / (1 + np.exp(-(X @ P["w"] + P["b"])))
        dz = (a - y) / len(X)
        return {"w": X.T @ dz, "b": dz.sum(axis=0)}

    def step(X, y):
        g = grads(X, y)
        state["t"] += 1
        t = state["t"]
        for k in P:
            if k == "b" and bias_v == "sgd":  # the bias left out of the Adam loop
                P[k] = P[k] - 0.01 * g[k]
                continue
            sq = {"abs": np.abs(g[k]), "eps": g[k] ** 2}.get(bias_v) if k == "b" else None
            sq = g[k] ** 2 if sq is None else sq
            b2 = 0.9 if (k == "b" and bias_v == "beta2") else 0.999  # beta1 written for beta2
            state["m"][k] = 0.9 * state["m"][k] + 0.1 * g[k]
            state["v"][k] = b2 * state["v"][k] + (1 - b2) * sq
            m_hat = state["m"][k] / (1 - 0.9**t)
            v_hat = state["v"][k] / (1 - b2**t)
            eps = 1e-3 if (k == "b" and bias_v == "eps") else 1e-8
            P[k] = P[k] - 0.01 * m_hat / (np.sqrt(v_hat) + eps)

    return from_gradients(P, ["w", "b"], grads, step=step,
                          forward=lambda X: 1 / (1 + np.exp(-(X @ P["w"] + P["b"]))),
                          sizes=[3, 1], activations="sigmoid", loss="bce", optimizer="adam",
                          lr=0.01)  # fmt: skip


def _data():
    r = np.random.RandomState(0)
    X = r.randn(30, 3)
    return X, (X @ np.array([[1.0], [-2.0], [0.5]]) + 0.3 > 0).astype(float)


@pytest.mark.parametrize("bias_v", ["squared", "abs", "eps", "beta2", "sgd"])
def test_one_number_s_departure_is_named_over_the_steps_seen(bias_v):
    X, y = _data()
    r = check(_learner(bias_v), X, y, steps=20, probe=False)
    if bias_v == "squared":
        assert r.code == "match", r.render()
        return
    f = r.findings[0]
    assert r.code == "implementation_bug" and f.params == ("b",), r.render()
    assert f.code == "optimizer_update_mismatch", r.render()
    said = {  # (eps, beta2: fitted values, read from nine numbers or more)
        "abs": "of b follow adam with v's moving average taken over |g|",
        "eps": "of b follow adam with eps = 0.001",
        "beta2": "of b follow adam with beta2 = 0.9 where 0.999 is declared",
        "sgd": "of b follow plain SGD (w -= lr * g) with lr = 0.01, and the others the declared",
    }[bias_v]
    assert said in f.evidence, r.render()


@pytest.mark.parametrize(("bias_v", "steps"), [("abs", 3), ("eps", 8)])
def test_too_few_steps_of_one_number_name_nothing(bias_v, steps):
    X, y = _data()
    r = check(_learner(bias_v), X, y, steps=steps, probe=False)
    assert r.findings[0].params == ("b",), r.render()
    assert "no known adam variant" in r.findings[0].evidence, r.render()
