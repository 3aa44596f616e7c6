"""A step that computes on some of the rows it is handed (review s59b F6): a loss loop over the
samples that starts at 1, or stops one short, still dividing by N; a step that returns after
its first inner mini-batch. Both were a loss_mismatch about axes and clips; they are
``rows_not_used`` naming the rows, and the loops written right match."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_loss

R = np.random.default_rng(11)
X = R.normal(size=(20, 3))
Y = R.integers(0, 3, 20)


def _net(rows: str):
    r = np.random.default_rng(6)
    P = {"W1": r.normal(0, 0.5, (3, 8)), "b1": np.zeros(8), "W2": r.normal(0, 0.5, (8, 3)),
         "b2": np.zeros(3)}  # fmt: skip

    def loss_and_grads(X, y):
        N = len(X)
        G = {k: np.zeros_like(v) for k, v in P.items()}
        loss = 0.0
        span = {"all": range(N), "from1": range(1, N), "short": range(N - 1)}[rows]
        for i in span:  # CS231n's per-sample loop
            x = X[i : i + 1]
            h = np.maximum(0, x @ P["W1"] + P["b1"])
            s = h @ P["W2"] + P["b2"]
            p = np.exp(s - s.max())
            p /= p.sum()
            loss -= np.log(p[0, y[i]]) / N
            d = p.copy()
            d[0, y[i]] -= 1
            d /= N
            dh = d @ P["W2"].T * (h > 0)
            for k, g in (("W1", x.T @ dh), ("b1", dh[0]), ("W2", h.T @ d), ("b2", d[0])):
                G[k] += g
        return loss, G

    return from_loss(P, loss_and_grads, sizes=[3, 8, 3], activations="relu,identity",
                     loss="cross_entropy", lr=0.1)  # fmt: skip


@pytest.mark.parametrize(("rows", "said"), [("from1", "last 19 rows"), ("short", "first 19 rows")])
def test_a_loop_that_skips_a_row_is_rows_not_used(rows, said):
    r = check(_net(rows), X, Y, steps=3, probe=False)
    assert r.code == "implementation_bug", r.render()
    f = r.findings[0]
    assert f.code == "rows_not_used" and said in f.evidence, r.render()
    assert "their sum over all 20" in f.evidence, r.render()


def test_the_loop_over_every_row_matches():
    assert check(_net("all"), X, Y, steps=3, probe=False).code == "match"


def test_a_step_that_returns_after_its_first_inner_batch_is_rows_not_used():
    """The loop over inner mini-batches of 8 with ``return`` one level too deep: a mean over
    the first 8 rows of the 20 handed."""
    r = np.random.default_rng(6)
    P = {"W1": r.normal(0, 0.5, (3, 8)), "b1": np.zeros(8), "W2": r.normal(0, 0.5, (8, 3)),
         "b2": np.zeros(3)}  # fmt: skip

    def loss_and_grads(X, y):
        for i in range(0, len(X), 8):
            x, t = X[i : i + 8], y[i : i + 8]
            n = len(x)
            h = np.maximum(0, x @ P["W1"] + P["b1"])
            s = h @ P["W2"] + P["b2"]
            p = np.exp(s - s.max(1, keepdims=True))
            p /= p.sum(1, keepdims=True)
            d = p.copy()
            d[np.arange(n), t] -= 1
            d /= n
            dh = d @ P["W2"].T * (h > 0)
            G = {"W1": x.T @ dh, "b1": dh.sum(0), "W2": h.T @ d, "b2": d.sum(0)}
            return -np.log(p[np.arange(n), t]).mean(), G  # inside the loop

    a = from_loss(P, loss_and_grads, sizes=[3, 8, 3], activations="relu,identity",
                  loss="cross_entropy", lr=0.1)  # fmt: skip
    res = check(a, X, Y, steps=3, probe=False)
    f = res.findings[0]
    assert (res.code, f.code) == ("implementation_bug", "rows_not_used"), res.render()
    assert "first 8 rows alone (mean over them)" in f.evidence, res.render()
