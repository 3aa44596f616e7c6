"""The watch (up to 300 steps while everything agrees) keeps each step's evidence for the
diagnosis, but not every step's copy of the batch: a full batch of 8000 x 256 kept 20 MB a step
and ran a correct program out of memory (review s8b)."""

import tracemalloc

import numpy as np

from nnparity.reference.learner import check, from_gradients


def test_the_watch_does_not_keep_a_copy_of_the_batch_per_step():
    r = np.random.RandomState(0)
    X, y = r.randn(2000, 128), r.randint(0, 4, 2000)  # 2 MB of inputs
    P = {"W1": r.randn(128, 8) * 0.05, "b1": np.zeros(8), "W2": r.randn(8, 4) * 0.2,
         "b2": np.zeros(4)}  # fmt: skip

    def grads(X, y):
        z1 = X @ P["W1"] + P["b1"]
        h = np.maximum(z1, 0)
        z = h @ P["W2"] + P["b2"]
        p = np.exp(z - z.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        d = p.copy()
        d[np.arange(len(y)), y] -= 1
        d /= len(y)
        dh = d @ P["W2"].T * (z1 > 0)
        return {"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ d, "b2": d.sum(0)}

    a = from_gradients(P, list(P), grads, sizes=[128, 8, 4], activations="relu,softmax",
                       loss="cross_entropy", optimizer="sgd", lr=0.1)  # fmt: skip
    check(a, X, y, steps=1, watch=1, probe=False)  # every import made before the tracing
    tracemalloc.start()
    try:
        res = check(a, X, y, steps=3, watch=100, probe=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert res.code == "match", res.render()
    assert peak < 60e6, f"{peak / 1e6:.0f} MB at the peak: a copy of the batch per step is kept"
