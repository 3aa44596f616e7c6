"""The training probe on small networks (review s23b F8, F9, F11): a correct 2-2-1 ReLU net on
XOR was ``capacity`` ("cannot represent") though three fresh starts in twenty fit (two tried:
now sixteen where a run costs little), ``local_minimum``; ReLU units dead from the start were
told "or lower the learning rate", which no rate changes (their gradients are exactly 0)."""

from __future__ import annotations

import numpy as np

from nnparity.reference.learner import check, from_loss


def _relu_net(sizes, b1, seed=0):
    r = np.random.RandomState(seed)
    P = {
        "W1": r.randn(sizes[0], sizes[1]) / np.sqrt(sizes[0]),
        "b1": np.full(sizes[1], b1),
        "W2": r.randn(sizes[1], 1) / np.sqrt(sizes[1]),
        "b2": np.zeros(1),
    }

    def loss(X, y):
        z = X @ P["W1"] + P["b1"]
        h = np.maximum(z, 0)
        out = 1 / (1 + np.exp(-(h @ P["W2"] + P["b2"])))
        L = -np.mean(y * np.log(out) + (1 - y) * np.log(1 - out))
        d = (out - y) / len(X)
        dz = d @ P["W2"].T * (z > 0)
        return L, {"W1": X.T @ dz, "b1": dz.sum(0), "W2": h.T @ d, "b2": d.sum(0)}

    decl = dict(sizes=sizes, activations="relu,sigmoid", loss="bce", optimizer="sgd", lr=0.5)
    return from_loss(P, loss, **decl)


def test_a_relu_xor_net_that_can_represent_xor_is_a_local_minimum_not_capacity():
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float)
    y = np.array([[0], [1], [1], [0]], float)
    res = check(_relu_net([2, 2, 1], 0.0), X, y, steps=2, watch=0)
    assert res.code == "match", res.render()
    assert res.training.outcome == "model_limitation"
    assert res.codes()[0] == "local_minimum", res.render()


def test_units_dead_from_the_start_are_not_told_to_lower_the_learning_rate():
    """Nor to use leaky_relu, whose 0.01 slope moves units this far below 0 no faster than
    relu's 0 (review s24b F6: R^2 0.669 against 0.674 after 1,000 steps); re-initialise."""
    r = np.random.RandomState(1)
    X = r.uniform(-1, 1, (40, 2))
    y = (X[:, :1] * X[:, 1:] > 0).astype(float)
    res = check(_relu_net([2, 8, 1], -5.0), X, y, steps=2, watch=0)
    f = next(f for f in res.findings if f.code == "dead_units")
    assert f.evidence.startswith("at the start"), f.evidence
    assert "learning rate" not in f.hint and "leaky_relu" not in f.hint, f.hint
    assert "small positive bias" in f.hint


def test_units_saturated_by_a_growing_loss_are_not_an_init_to_scale_down():
    """Review s23b F5: 1-16-1 tanh at sgd lr 1.2 (the init already 1/sqrt(fan_in)) was
    ``saturation`` first, "scale the initial weights down (Xavier init)", beside a growing
    loss: units pushed out of range on the way up are its consequence."""
    r = np.random.RandomState(0)
    P = {"W1": r.randn(1, 16), "b1": np.zeros(16), "W2": r.randn(16, 1) / 4, "b2": np.zeros(1)}

    def loss(X, y):
        h = np.tanh(X @ P["W1"] + P["b1"])
        out = h @ P["W2"] + P["b2"]
        d = 2 * (out - y) / out.size
        dz = d @ P["W2"].T * (1 - h**2)
        return np.mean((out - y) ** 2), {"W1": X.T @ dz, "b1": dz.sum(0), "W2": h.T @ d,
                                         "b2": d.sum(0)}  # fmt: skip

    X = np.linspace(-2, 2, 40)[:, None]
    decl = dict(sizes=[1, 16, 1], activations="tanh,identity", loss="mse", optimizer="sgd")
    res = check(from_loss(P, loss, lr=1.2, **decl), X, np.sin(2 * X), steps=2, watch=0)
    assert res.training.outcome == "model_limitation", res.render()
    assert "learning_rate" in res.training_codes(), res.render()
    assert not any(
        f.code in ("saturation", "dead_units") and not f.evidence.startswith("at the start")
        for f in res.findings
    ), res.render()
