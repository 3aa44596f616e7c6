"""A network whose loss is still falling has not shown that it cannot fit (review s16c s08: a
Mazur-style 2-2-2 sigmoid net on 4 rows, whose declared SGD reaches R^2 0.996 at step 20000
and Adam 1.000 at 12000 after a plateau, was told `capacity`, "add units")."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients
from nnparity.reference.learner.limitations import _falling
from nnparity.reference.learner.torch_side import Trained


def _mazur():
    P = {
        "W1": np.array([[0.15, 0.20], [0.25, 0.30]]),
        "b1": np.full((2, 1), 0.35),
        "W2": np.array([[0.40, 0.45], [0.50, 0.55]]),
        "b2": np.full((2, 1), 0.60),
    }
    X = np.array([[0.05, 0.10], [0.9, 0.2], [0.3, 0.7], [0.6, 0.6]])
    Y = np.array([[0.01, 0.99], [0.99, 0.01], [0.5, 0.5], [0.2, 0.8]])
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731

    def grads(X, y):  # columns (2, m), weights (out, in), 1/2 sum (y - o)^2 per sample
        x, y = X.T, y.T
        h = sig(P["W1"] @ x + P["b1"])
        o = sig(P["W2"] @ h + P["b2"])
        d_o = -(y - o) * o * (1 - o) / x.shape[1]
        d_h = (P["W2"].T @ d_o) * h * (1 - h)
        return {"W1": d_h @ x.T, "b1": d_h.sum(1, keepdims=True), "W2": d_o @ h.T,
                "b2": d_o.sum(1, keepdims=True)}  # fmt: skip

    fwd = lambda X: sig(P["W2"] @ sig(P["W1"] @ X.T + P["b1"]) + P["b2"]).T  # noqa: E731
    adapter = from_gradients(P, list(P), grads, forward=fwd, sizes=[2, 2, 2], layout="out_in",
                             activations="sigmoid,sigmoid", loss="half_sse", optimizer="sgd",
                             lr=0.5)  # fmt: skip
    return adapter, X, Y


def test_a_run_still_learning_is_slow_training_not_capacity():
    adapter, X, y = _mazur()
    r = check(adapter, X, y, steps=3)
    assert (r.code, r.training.outcome) == ("match", "model_limitation"), r.render()
    assert r.training_codes() == ["slow_training"], r.render()
    f = r.finding("slow_training")
    assert "is still learning: its loss falls from" in f.evidence
    assert f.hint.startswith("train longer: the loss is still falling")


def _run(losses):
    return Trained(list(losses), {}, np.zeros(1), False, len(losses))


@pytest.mark.parametrize(
    "losses, falling",
    [
        (0.5 + 0.5 * 0.9 ** np.arange(4000), False),  # settled at its floor long ago
        (0.7 + 0.01 * np.random.default_rng(0).standard_normal(4000), False),  # mini-batch noise
        (0.03 * np.exp(-np.arange(4000) / 4000), True),  # still falling steadily
        (np.full(20, 1.0), False),  # too short to tell
        (np.r_[np.linspace(1, 0.1, 3999), np.nan], False),  # diverged: another finding's
    ],
)
def test_falling_reads_the_second_half_of_a_run(losses, falling):
    assert (_falling(_run(losses)) is not None) == falling
