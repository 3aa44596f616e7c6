"""A declared gradient clip too tight to train (review s30b F7): clip_grad_norm=1e-3 shrinks
every update, and the probe told ``slow_training`` with "raise the learning rate to 10". The
declared run without the clip fitting tells ``clip_strength``; a loose clip still fits."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_loss


def _check(**clip: float):
    r = np.random.RandomState(0)
    P = {"W1": r.randn(2, 8) / np.sqrt(2), "b1": np.zeros(8), "W2": r.randn(8, 1) / np.sqrt(8)}
    P["b2"] = np.zeros(1)

    def loss(X, y):
        h = np.tanh(X @ P["W1"] + P["b1"])
        out = h @ P["W2"] + P["b2"]
        d = 2 * (out - y) / len(X)
        dz = d @ P["W2"].T * (1 - h**2)
        g = {"W1": X.T @ dz, "b1": dz.sum(0), "W2": h.T @ d, "b2": d.sum(0)}  # unclipped
        return float(np.mean((out - y) ** 2)), g

    X = np.random.RandomState(1).uniform(-1, 1, (32, 2))
    y = np.sin(2 * X[:, :1]) * X[:, 1:]
    decl = dict(sizes=[2, 8, 1], activations="tanh,identity", loss="mse", **clip)
    # the check applies the declared update, clip included, to the gradients shown
    return check(from_loss(P, loss, optimizer="sgd", lr=0.3, **decl), X, y, steps=2, watch=0)


@pytest.mark.parametrize("clip", [{"clip_grad_norm": 1e-3}, {"clip_grad_value": 1e-4}])
def test_a_clip_too_tight_to_train_is_clip_strength(clip):
    res = _check(**clip)
    assert res.training.outcome == "model_limitation", res.render()
    assert res.training_codes() == ["clip_strength"], res.render()
    f = next(f for f in res.findings if f.code == "clip_strength")
    assert "without the clip the same run fits" in f.evidence and "loosen clip_grad" in f.hint


def test_a_loose_clip_still_fits():
    res = _check(clip_grad_norm=5.0)
    assert res.training.outcome == "fits", res.render()


def test_a_clip_that_bound_early_alone_is_no_clip_strength():
    """Review s30c F10: XOR 2-2-1 at lr 3 with clip_grad_norm=0.2 binds at 4 of 1000 steps,
    the first; the run without it fits (another basin). The clip does not bind where the
    declared run ends: no clip_strength."""
    from nnparity.reference.learner import from_gradients

    X = np.array([[0.0, 0], [0, 1], [1, 0], [1, 1]])
    y = np.array([[0.0], [1], [1], [0]])
    r = np.random.RandomState(21)
    P = {"W1": r.randn(2, 2) * 2, "b1": np.zeros(2), "W2": r.randn(2, 1) * 2, "b2": np.zeros(1)}

    def grads(X, y):
        h = np.tanh(X @ P["W1"] + P["b1"])
        dz = (1 / (1 + np.exp(-(h @ P["W2"] + P["b2"]))) - y) / len(X)
        dh = dz @ P["W2"].T * (1 - h**2)
        return {"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ dz, "b2": dz.sum(0)}

    decl = dict(sizes=[2, 2, 1], activations="tanh,sigmoid", loss="bce", clip_grad_norm=0.2)
    res = check(from_gradients(P, list(P), grads, optimizer="sgd", lr=3.0, **decl), X, y, steps=2)
    assert "clip_strength" not in res.training_codes(), res.render()
