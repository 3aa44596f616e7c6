"""The training probe reshuffles the rows at each pass after the first, as a training loop's
epochs do (review s16c: two half-moons stored class by class, batches of 10, each batch one
class: the probe's fixed batches crept to 182/200 and said slow_training, where the learner's
own shuffled loop, and PyTorch's, fit by step 500)."""

from __future__ import annotations

import numpy as np

from nnparity.reference.learner import check, from_gradients


def test_class_sorted_data_in_mini_batches_fits_as_a_shuffled_loop_does():
    t = np.linspace(0, np.pi, 100)
    X = np.r_[np.c_[np.cos(t), np.sin(t)], np.c_[1 - np.cos(t), 0.4 - np.sin(t)]]
    Y = np.r_[np.zeros(100), np.ones(100)][:, None]
    r = np.random.RandomState(0)
    P = {"W1": r.randn(2, 16) / np.sqrt(2), "b1": np.zeros(16), "W2": r.randn(16, 1) / 4}
    P["b2"] = np.zeros(1)

    def grads(x, y):
        h = np.tanh(x @ P["W1"] + P["b1"])
        out = 1 / (1 + np.exp(-(h @ P["W2"] + P["b2"])))
        d2 = (out - y) / len(x)
        d1 = d2 @ P["W2"].T * (1 - h**2)
        return {"W1": x.T @ d1, "b1": d1.sum(0), "W2": h.T @ d2, "b2": d2.sum(0)}

    a = from_gradients(
        P, list(P), grads, sizes=[2, 16, 1], activations="tanh,sigmoid", loss="bce",
        optimizer="sgd", lr=1.0, batch_size=10,
    )  # fmt: skip
    r = check(a, X, Y, steps=3, watch=0)
    assert r.code == "match", r.render()
    assert r.training.outcome == "fits", r.render()
