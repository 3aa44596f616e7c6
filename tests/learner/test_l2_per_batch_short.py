"""deeplearning.ai's L2 per mini-batch, ``lambd / m * W`` with m the batch's own rows, declared
l2 = lambd / 16 for batches of 16: only the short last batch (6 of 70 rows) parts, so the steps
read hold one batch size (review s61a F1: it was a regularization_mismatch bug, "your L2
coefficient is 0.116667"). The short batch's coefficient times its rows is the declared one's
times the full batch's: the per-batch note beside a match; another coefficient stays a bug."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients


@pytest.mark.parametrize(("lambd", "code"), [(0.7, "match"), (1.4, "implementation_bug")])
def test_a_penalty_per_batch_on_a_short_last_batch(lambd, code):
    r = np.random.default_rng(7)
    X = r.normal(size=(70, 3))
    y = np.tanh(X @ np.array([[0.8], [-0.6], [0.2]]))
    P = {"W1": r.normal(0, 0.5, (3, 8)), "b1": np.zeros(8), "W2": r.normal(0, 0.5, (8, 1)),
         "b2": np.zeros(1)}  # fmt: skip

    def grads(X, y):
        m = len(X)
        h = np.tanh(X @ P["W1"] + P["b1"])
        d = (h @ P["W2"] + P["b2"] - y) / m
        dh = d @ P["W2"].T * (1 - h**2)
        return {"W1": X.T @ dh + lambd / m * P["W1"], "b1": dh.sum(0),
                "W2": h.T @ d + lambd / m * P["W2"], "b2": d.sum(0)}  # fmt: skip

    a = from_gradients(P, list(P), grads, sizes=[3, 8, 1], activations="tanh,identity",
                       loss="half_sse", lr=0.1, l2=0.7 / 16, batch_size=16)  # fmt: skip
    res = check(a, X, y, steps=5, probe=False)
    assert res.code == code, res.render()
    (f,) = [f for f in res.findings if f.code == "regularization_mismatch"]
    assert (f.kind == "note") == (code == "match"), res.render()
