"""A probability-space BCE with a clipped log (review s55 F1), gradients exposed: large weights
at lr 3 drive every sample's output to exactly 0 or 1 by step 7, where the learner's
``dA * A (1 - A)`` is exactly 0 for every layer while PyTorch's BCEWithLogits gradient is not.
It was five unexplained "all zeros (never computed?)" bugs beside the clip_convention note its
first steps earned; a safe log's exact 0 handed down is the learner's own now. A gradient never
computed still parts at the steps before saturation."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients


def _net(bug: str):
    r = np.random.RandomState(0)
    sizes = [3, 5, 5, 1]
    P = {}
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True), 1):
        P[f"W{i}"] = r.randn(a, b) * np.sqrt(2.0 / a) * 6.0
        P[f"b{i}"] = r.randn(b) * 0.1

    def grads(X, y):
        N = len(X)
        A1 = np.maximum(X @ P["W1"] + P["b1"], 0)
        A2 = np.maximum(A1 @ P["W2"] + P["b2"], 0)
        A3 = 1 / (1 + np.exp(-(A2 @ P["W3"] + P["b3"])))
        Ac = np.clip(A3, 1e-7, 1 - 1e-7)
        dZ3 = (-y / Ac + (1 - y) / (1 - Ac)) / N * A3 * (1 - A3)
        dZ2 = dZ3 @ P["W3"].T * (A2 > 0)
        dZ1 = dZ2 @ P["W2"].T * (A1 > 0)
        g = {"W1": X.T @ dZ1, "b1": dZ1.sum(0), "W2": A1.T @ dZ2, "b2": dZ2.sum(0),
             "W3": A2.T @ dZ3, "b3": dZ3.sum(0)}  # fmt: skip
        if bug == "W2_zero":
            g["W2"] = np.zeros_like(g["W2"])
        if bug == "all_zero":  # (review s56 F7: read as "the first sample's dz only")
            g = {k: np.zeros_like(v) for k, v in g.items()}
        return g

    return from_gradients(P, list(P), grads, sizes=sizes, activations="relu,relu,sigmoid",
                          loss="bce", optimizer="sgd", lr=3.0, batch_size=4)  # fmt: skip


def _data():
    r = np.random.RandomState(5)
    X = r.randn(14, 3)
    return X, (X[:, :1] * X[:, 1:2] + X[:, 2:] > 0).astype(float)


@pytest.mark.parametrize("bug", ["", "W2_zero", "all_zero"])
def test_saturated_steps_of_a_clipped_log_are_the_learners_own(bug):
    r = check(_net(bug), *_data(), steps=10, probe=False)
    if bug:
        assert r.code == "implementation_bug" and r.findings[0].step == 1, r.render()
        assert "bias_reduction" not in r.codes(), r.render()
        return
    assert r.code == "match", r.render()
    assert "clip_convention" in r.codes(), r.render()
