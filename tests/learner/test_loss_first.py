"""A loss whose value and output gradient part while the forward output agrees is said first
(``loss_mismatch``), the gradients below as its consequence (review s19a: a 'stable'
log-softmax that subtracted the max over the batch axis left six unexplained gradients)."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_loss


def _adapter(axis: int, forward: bool = True):
    rng = np.random.default_rng(4)
    P = {"W1": rng.normal(0, 0.8, (3, 6)), "b1": np.zeros(6),
         "W2": rng.normal(0, 0.8, (6, 3)), "b2": np.zeros(3)}  # fmt: skip

    def scores(X):
        a1 = np.tanh(X @ P["W1"] + P["b1"])
        return a1, a1 @ P["W2"] + P["b2"]

    def loss(X, y=None):
        a1, z = scores(X)
        if y is None:
            e = np.exp(z - z.max(axis=1, keepdims=True))
            return e / e.sum(axis=1, keepdims=True)
        s = z - z.max(axis=axis, keepdims=True)  # axis 0: the bug
        logp = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
        n = len(X)
        dz = np.exp(logp)
        dz[np.arange(n), y] -= 1
        dz /= n
        dz1 = dz @ P["W2"].T * (1 - a1**2)
        grads = {"W1": X.T @ dz1, "b1": dz1.sum(0), "W2": a1.T @ dz, "b2": dz.sum(0)}
        return -logp[np.arange(n), y].mean(), grads

    declared = dict(sizes=[3, 6, 3], activations="tanh,softmax", loss="cross_entropy",
                    optimizer="sgd", lr=0.3)  # fmt: skip
    return from_loss(P, loss, forward=(lambda X: loss(X)) if forward else None, **declared)


@pytest.mark.parametrize("forward", [True, False])
def test_a_loss_that_parts_with_its_gradient_is_said_first(forward):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(12, 3)) * 2, rng.integers(0, 3, 12)
    assert check(_adapter(1, forward), X, y, steps=2, probe=False).code == "match"
    r = check(_adapter(0, forward), X, y, steps=2, probe=False)
    first = r.findings[0]
    assert r.code == "implementation_bug" and first.code == "loss_mismatch", r.render()
    assert ("while your forward output agrees" in first.evidence) == forward, first.evidence
    rest = [f for f in r.findings[1:] if f.kind != "note"]
    assert rest and all(f.evidence.endswith("fix that first)") for f in rest), r.render()
