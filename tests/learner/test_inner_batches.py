"""A step that runs an epoch's loop of mini-batches on the rows it is handed (review s18a:
four in-order batches of 16 on 64 rows, no batch size declared: unexplained, c = 3.5).
Named ``own_batches`` with the batch size that takes the steps, under plain SGD (whose
gradients the check implies from the weights) and under Adam (whose update hides them);
a step of one update matches."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_step


def _adapter(inner: int | None, opt: str):
    r = np.random.default_rng(4)
    P = {"W1": r.normal(0, 0.6, (3, 8)), "b1": np.zeros(8), "W2": r.normal(0, 0.6, (8, 2)),
         "b2": np.zeros(2)}  # fmt: skip
    S = {k: [np.zeros_like(v), np.zeros_like(v)] for k, v in P.items()}
    t = [0]

    def update(x, y):
        h = np.tanh(x @ P["W1"] + P["b1"])
        d = 2 * (h @ P["W2"] + P["b2"] - y) / y.size
        dh = d @ P["W2"].T * (1 - h**2)
        g = {"W1": x.T @ dh, "b1": dh.sum(0), "W2": h.T @ d, "b2": d.sum(0)}
        t[0] += 1
        for k, p in P.items():
            if opt == "sgd":
                p -= 0.05 * g[k]
                continue
            m, v = S[k]
            m[...] = 0.9 * m + 0.1 * g[k]
            v[...] = 0.999 * v + 0.001 * g[k] ** 2
            p -= 0.01 * (m / (1 - 0.9 ** t[0])) / (np.sqrt(v / (1 - 0.999 ** t[0])) + 1e-8)

    def step(X, y):
        b = inner or len(X)
        for s in range(0, len(X), b):  # the epoch's loop, inside the step
            update(X[s : s + b], y[s : s + b])

    return from_step(P, list(P), step, sizes=[3, 8, 2], activations="tanh,identity", loss="mse",
                     optimizer=opt, lr=0.05 if opt == "sgd" else 0.01)  # fmt: skip


def _data():
    r = np.random.default_rng(5)
    X = r.normal(size=(64, 3))
    return X, np.stack([X[:, 0] - X[:, 1], np.sin(X[:, 2])], axis=1)


@pytest.mark.parametrize("opt", ["sgd", "adam"])
@pytest.mark.parametrize(("inner", "last"), [(16, 16), (10, 4)])
def test_a_step_that_loops_over_batches_is_named_with_their_size(inner, last, opt):
    r = check(_adapter(inner, opt), *_data(), steps=3, probe=False)
    assert r.codes() == ["own_batches"], r.render()
    f = r.findings[0]
    k = -(-64 // inner)
    assert (
        f"takes {k} {opt} updates" in f.evidence
        and f"batches of {inner} (the last {last})" in f.evidence
    )
    assert f"declare batch_size={inner}" in f.hint


@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_a_step_of_one_update_matches(opt):
    assert check(_adapter(None, opt), *_data(), steps=3, probe=False).code == "match"
