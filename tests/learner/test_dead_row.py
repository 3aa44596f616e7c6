"""A sample whose first-layer ReLUs are all dead, under zero-initialised biases, puts the next
layer's z at exactly 0 on both sides; review s11 found the round-off envelope granting a whole
derivative flip there, so that a bias gradient left at zeros, doubled, or summed over the
wrong axis, and a bias never updated, all said match. Tested both ways: the correct
regression net matches."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients

rng = np.random.default_rng(1)
X = rng.uniform(-1, 1, (20, 3))
Y = np.c_[X[:, 0] * X[:, 1], np.sin(X[:, 2])]
BUGS = {
    "none": lambda d: d.sum(0),
    "zeros": lambda d: np.zeros(d.shape[1]),
    "doubled": lambda d: 2 * d.sum(0),
    "axis": lambda d: d.sum(1)[: d.shape[1]],
}


def _adapter(bug: str, lr: float):
    r = np.random.default_rng(0)
    sizes = [3, 6, 5, 2]
    P = {}
    for i, (m, n) in enumerate(zip(sizes[:-1], sizes[1:], strict=True), 1):
        P[f"W{i}"], P[f"b{i}"] = r.normal(0, np.sqrt(2 / m), (m, n)), np.zeros(n)

    def grads(X, y):
        a = [X]
        for i in (1, 2, 3):
            z = a[-1] @ P[f"W{i}"] + P[f"b{i}"]
            a.append(np.maximum(z, 0) if i < 3 else z)
        d = (a[3] - y) / len(X)
        out = {}
        for i in (3, 2, 1):
            out[f"W{i}"] = a[i - 1].T @ d
            out[f"b{i}"] = BUGS[bug](d) if i == 2 else d.sum(0)
            d = (d @ P[f"W{i}"].T) * (a[i - 1] > 0)
        return [out[n] for n in P]

    return from_gradients(P, list(P), grads, sizes=sizes, activations="relu,relu,identity",
                          loss="half_sse", lr=lr)  # fmt: skip


def test_the_net_has_a_dead_row_above_a_zero_bias():
    r = np.random.default_rng(0)
    W1 = r.normal(0, np.sqrt(2 / 3), (3, 6))
    assert (X @ W1 <= 0).all(axis=1).any()  # the case under test: some z2 row is exactly 0


@pytest.mark.parametrize("bug", ["zeros", "doubled", "axis"])
def test_a_bias_gradient_bug_behind_a_dead_row_is_found(bug):
    res = check(_adapter(bug, 0.003), X, Y, steps=1, probe=False)
    assert res.code == "implementation_bug", res.render()
    assert "b2" in res.findings[0].params, res.render()


def test_the_correct_net_matches():
    res = check(_adapter("none", 0.003), X, Y, steps=3, probe=False)
    assert res.code == "match", res.render()
