"""A run that diverges on both sides until its round-off bound overflows (gradients of 1e115
at lr 5 with a stable softmax): the comparison stops there with an ``unjudged_steps`` note,
never a mismatch read off an allowance that overflowed (review s24b F2: the textbook-stable
softmax, within 2e-16 of PyTorch's at every step, was an implementation_bug at step 137)."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients
from nnparity.reference.learner.allowance import overflowed


def _program(factor=1.0, late=None):
    rng = np.random.RandomState(29)
    X = rng.randn(30, 2) * 5
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0).astype(int)
    r = np.random.RandomState(0)
    P = {"W1": r.randn(2, 16), "b1": np.zeros(16), "W2": r.randn(16, 3), "b2": np.zeros(3)}

    def forward(X):
        h = np.maximum(0, X @ P["W1"] + P["b1"])
        s = h @ P["W2"] + P["b2"]
        e = np.exp(s - s.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True), h

    def grads(X, y):
        p, h = forward(X)
        d = p.copy()
        d[np.arange(len(X)), y] -= 1
        d /= len(X)
        dh = d @ P["W2"].T * (h > 0)
        g = [X.T @ dh, factor * dh.sum(0), h.T @ d, d.sum(0)]
        if late is not None and np.abs(g[0]).max() > 1e50:  # a bug past any training's size
            g[2] = late * g[2]
        return g

    a = from_gradients(P, ["W1", "b1", "W2", "b2"], grads, forward=lambda X: forward(X)[0],
                       sizes=[2, 16, 3], activations="relu,softmax", loss="cross_entropy",
                       optimizer="sgd", lr=5.0)  # fmt: skip
    return a, X, y


def test_a_diverging_correct_run_matches_through_the_steps_it_can_judge():
    a, X, y = _program()
    r = check(a, X, y, probe=False)
    assert r.code == "match", r.render()
    (note,) = [f for f in r.findings if f.code == "unjudged_steps"]
    assert note.kind == "note" and "lower the learning rate" in note.hint
    assert r.steps == note.step - 1  # the steps compared end before it


def test_a_bug_in_the_same_diverging_run_is_still_named():
    a, X, y = _program(factor=1.5)
    r = check(a, X, y, probe=False)
    assert r.code == "implementation_bug", r.render()
    assert "unjudged_steps" not in r.codes()


class _Rs:
    def __init__(self, top):
        self.grads = {"W1": np.array([top])}


@pytest.mark.parametrize(
    ("top", "diff", "said"), [(1e3, 1e-12, None), (1e60, 1e45, ("grad", "W1")), (1e60, 1e55, None)]
)
def test_only_round_off_past_any_training_is_left_unjudged(top, diff, said):
    """A bound that is not finite at ordinary values (1e3) is no overflow: the step is judged
    (and fails); at 1e60 it is one where the difference is round-off at that scale (1e45),
    not where it is 1e-5 of it."""

    class R:
        passed, stage, tensor, max_abs = False, "grad", "W1", diff

    assert overflowed([R()], lambda: {"W1": np.array([np.nan])}, _Rs(top)) == said


@pytest.mark.parametrize("late", [-1.0, 1.5])
def test_a_bug_that_starts_only_past_1e50_is_judged(late):
    """A difference far beyond round-off at its tensor's own scale (W2's sign flipped at
    1e108) is judged, though its bound overflowed (review s24d F2)."""
    a, X, y = _program(late=late)
    r = check(a, X, y, probe=False)
    assert r.code == "implementation_bug", r.render()
    assert "unjudged_steps" not in r.codes()
