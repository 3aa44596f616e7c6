"""A forward that parts on many rows at once (every step hands it one row) and again on the
step's own row is one finding: the same code on the same arrays said as a cause is not also
"likely a consequence of" itself (review s59a F6: a softmax with a temperature, two
unexplained forward findings, the second pointing at the first)."""

from __future__ import annotations

import numpy as np

from nnparity.reference.learner import check, from_loss


def test_a_finding_said_as_a_cause_is_not_repeated_as_its_own_consequence():
    rng = np.random.RandomState(27)
    X, y = rng.randn(9, 3), np.array([0, 1, 2, 3, 0, 1, 2, 3, 0])
    P = {"W1": rng.randn(3, 8) * 0.7, "b1": np.zeros(8), "W2": rng.randn(8, 4) * 0.7,
         "b2": np.zeros(4)}  # fmt: skip

    def forward(X):
        z = (np.maximum(0, X @ P["W1"] + P["b1"]) @ P["W2"] + P["b2"]) / 2.0  # a temperature
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def loss_and_grads(X, y):
        n, h = len(X), np.maximum(0, X @ P["W1"] + P["b1"])
        p = forward(X)
        d = p.copy()
        d[np.arange(n), y] -= 1
        d /= 2.0 * n
        dh = d @ P["W2"].T * (h > 0)
        return -np.log(p[np.arange(n), y]).mean(), {"W1": X.T @ dh, "b1": dh.sum(0),
                                                    "W2": h.T @ d, "b2": d.sum(0)}  # fmt: skip

    a = from_loss(P, loss_and_grads, forward=forward, sizes=[3, 8, 4], activations="relu,softmax",
                  loss="cross_entropy", lr=0.1, batch_size=1)  # fmt: skip
    r = check(a, X, y, steps=3, probe=False)
    assert r.code == "implementation_bug", r.render()
    forward_found = [f for f in r.findings if f.params == ("forward",) and f.kind != "note"]
    assert len(forward_found) == 1, r.render()
    assert "consequence of unexplained_mismatch" not in r.render(), r.render()
