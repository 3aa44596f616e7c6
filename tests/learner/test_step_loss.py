"""The loss a whole step returns (``from_step``): compared with PyTorch's at the step's
weights, as a loss handed beside gradients is (review s45 F3: Karpathy's case study computing
its loss after ``dscores[range(N), y] -= 1`` returned NaN at every step, unseen). A step that
returns nothing, a count or a tuple is not read."""

from __future__ import annotations

import numpy as np
import pytest

from nnparity.reference.learner import check, from_step

NAMES = ["W1", "b1", "W2", "b2"]


def _learner(returns):
    r = np.random.RandomState(0)
    P = {"W1": 0.5 * r.randn(3, 6), "b1": np.zeros(6), "W2": 0.5 * r.randn(6, 3),
         "b2": np.zeros(3)}  # fmt: skip
    t = [0]

    def step(X, y):
        h = np.tanh(X @ P["W1"] + P["b1"])
        z = h @ P["W2"] + P["b2"]
        p = np.exp(z - z.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        loss = -np.log(p[np.arange(len(y)), y]).mean()
        d = p.copy()
        d[np.arange(len(y)), y] -= 1
        if returns == "after":  # the loss taken from the gradient's array: log of <= 0
            with np.errstate(all="ignore"):
                loss = -np.log(d[np.arange(len(y)), y]).mean()
        d /= len(y)
        dh = d @ P["W2"].T * (1 - h**2)
        g = {"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ d, "b2": d.sum(0)}
        for k in NAMES:
            P[k] -= 0.1 * g[k]
        if returns == "read_after":  # train_neuralnet's network.loss after optimizer.update
            z2 = np.tanh(X @ P["W1"] + P["b1"]) @ P["W2"] + P["b2"]
            q = np.exp(z2 - z2.max(1, keepdims=True))
            loss = -np.log((q / q.sum(1, keepdims=True))[np.arange(len(y)), y]).mean()
        t[0] += 1
        return {"loss": loss, "twice": 2 * loss, "after": loss, "read_after": loss, "count": t[0],
                "tuple": (loss, 0.5), "none": None}[returns]  # fmt: skip

    return from_step(P, NAMES, step, sizes=[3, 6, 3], activations="tanh,identity",
                     loss="cross_entropy", optimizer="sgd", lr=0.1)  # fmt: skip


def _data():
    r = np.random.RandomState(1)
    X = r.randn(24, 3)
    return X, (X[:, 0] > 0).astype(int) + (X[:, 1] > 0).astype(int)


@pytest.mark.parametrize("returns", ["loss", "count", "tuple", "none"])
def test_a_right_loss_or_no_loss_returned_matches_without_a_note(returns):
    r = check(_learner(returns), *_data(), steps=3, probe=False)
    assert r.code == "match" and r.findings == (), r.render()


@pytest.mark.parametrize(
    ("returns", "said"),
    [
        ("twice", "ratio 2.0000"),
        ("after", "nan"),
        ("read_after", "at the weights your step leaves"),
    ],
)
def test_a_wrong_loss_returned_is_said(returns, said):
    r = check(_learner(returns), *_data(), steps=3, probe=False)
    f = next(f for f in r.findings if f.code == "loss_value_mismatch")
    assert said in f.evidence, r.render()
    # a step's number may be another quantity (an accuracy): said so (review s47 F2)
    if returns == "twice":
        assert "the number your step returns" in f.evidence and "not your loss" in f.hint
