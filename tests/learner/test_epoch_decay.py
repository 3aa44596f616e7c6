"""A learning rate decayed once per epoch by the learner's own counter (deeplearning.ai's
``update_lr``), checked through ``from_gradients(..., step=)`` under plain SGD (review s16a).
The check runs the first step twice (the determinism probe) and carried on from the second
run's state, so the learner's epoch counter ran one batch ahead: the decay showed at step 5
as "c = 1/2: use the declared learning rate". It is an ``lr_schedule`` at step 6."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_gradients


class EpochDecay:
    """2-4-1 tanh, MSE; 5 batches an epoch; lr = 0.1 / (1 + epoch) after each epoch where
    ``decay`` (else the counter runs and the lr stays)."""

    def __init__(self, decay: bool):
        r = np.random.default_rng(0)
        self.P = {"W1": r.normal(0, 0.5, (2, 4)), "b1": np.zeros(4), "W2": r.normal(0, 0.5, (4, 1))}
        self.P["b2"] = np.zeros(1)
        self.batches, self.epoch, self.lr = 0, 0, 0.1
        self.g, self.decay = {}, decay

    def grads(self, X, y):
        P = self.P
        h = np.tanh(X @ P["W1"] + P["b1"])
        d = 2 * (h @ P["W2"] + P["b2"] - y) / len(X)
        dh = d @ P["W2"].T * (1 - h**2)
        self.g = {"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ d, "b2": d.sum(0)}
        return self.g

    def step(self, X, y):
        self.grads(X, y)
        for k in self.P:
            self.P[k] = self.P[k] - self.lr * self.g[k]
        self.batches += 1
        if self.batches % 5 == 0:  # the end of an epoch
            self.epoch += 1
            self.lr = 0.1 / (1 + self.epoch) if self.decay else self.lr


@pytest.mark.parametrize("bug", [False, True])
def test_an_epoch_decay_is_a_schedule_from_the_first_step_of_the_second_epoch(bug):
    net = EpochDecay(decay=bug)
    X = np.random.default_rng(1).normal(size=(50, 2))
    y = X[:, :1] * X[:, 1:]
    decl = dict(sizes=[2, 4, 1], activations="tanh,identity", loss="mse")
    a = from_gradients(
        net.P, list(net.P), net.grads, step=net.step, optimizer="sgd", lr=0.1, **decl
    )
    r = check(a, X, y, steps=10, batch_size=10, probe=False)
    if not bug:
        assert r.code == "match", r.render()
        return
    assert r.codes() == ["lr_schedule"], r.render()
    assert r.findings[0].step == 6, r.render()
