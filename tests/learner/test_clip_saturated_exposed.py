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
        if bug == "tf_mask":  # autodiff through clip_by_value: 0 where the clip binds (correct)
            dZ3 = (
                (-y / Ac + (1 - y) / (1 - Ac)) / N * ((A3 > 1e-7) & (A3 < 1 - 1e-7)) * Ac * (1 - Ac)
            )
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


@pytest.mark.parametrize("bug", ["", "tf_mask", "W2_zero", "all_zero"])
def test_saturated_steps_of_a_clipped_log_are_the_learners_own(bug):
    """(Review s61a F3: TensorFlow's clip_by_value under autodiff, its gradient 0 where the
    clip binds, is the same convention: it was one_sample_gradient.)"""
    r = check(_net(bug), *_data(), steps=10, probe=False)
    if bug and bug != "tf_mask":
        assert r.code == "implementation_bug" and r.findings[0].step == 1, r.render()
        assert "bias_reduction" not in r.codes(), r.render()
        return
    assert r.code == "match", r.render()
    assert "clip_convention" in r.codes(), r.render()


@pytest.mark.parametrize("masked", [True, False])
def test_tensorflows_clip_by_value_gradient_is_the_convention(masked):
    """Review s61a F3: Keras's binary_crossentropy on probabilities, p clipped at 1e-7 with the
    clip's own derivative (0 where it binds, so z = 16-40 rows hand down nothing) where the
    plain chain rule keeps sigma'(z): it was one_sample_gradient; either is the convention."""
    rng = np.random.RandomState(2)
    X = np.vstack(
        [b for _ in range(6) for b in (rng.randn(3, 2) * 0.3 + 40.0, rng.randn(1, 2) * 0.3)]
    )
    y = np.zeros((24, 1))
    y[3::4] = y[0::8] = 1.0
    P = {"W1": np.abs(rng.randn(2, 4)) * 0.8, "b1": np.zeros(4),
         "W2": np.full((4, 1), 6.0) + rng.randn(4, 1) * 0.1, "b2": np.zeros(1)}  # fmt: skip

    def grads(X, y):
        h = np.tanh(X @ P["W1"] + P["b1"])
        p = 1 / (1 + np.exp(-(h @ P["W2"] + P["b2"])))
        pc = np.clip(p, 1e-7, 1 - 1e-7)
        dp = (-(y / pc) + (1 - y) / (1 - pc)) / len(X)
        dz = dp * ((p > 1e-7) & (p < 1 - 1e-7) if masked else 1.0) * p * (1 - p)
        dh = dz @ P["W2"].T * (1 - h**2)
        return {"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ dz, "b2": dz.sum(0)}

    a = from_gradients(P, list(P), grads, sizes=[2, 4, 1], activations="tanh,sigmoid",
                       loss="bce", lr=0.5, batch_size=4)  # fmt: skip
    r = check(a, X, y, steps=6, probe=False)
    assert r.code == "match", r.render()
    assert "clip_convention" in r.codes(), r.render()
