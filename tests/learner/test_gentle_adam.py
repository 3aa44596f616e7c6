"""Before a failed run is put on the network (``capacity``), Adam runs at lr 0.01 too
(review s15b: a 2-10-10-3 leaky-ReLU net on a 36-point spiral, which Adam at lr 0.03 leaves
at 35/36 and Adam at lr 0.01 fits in 2000 steps, was told "add units, layers or biases")."""

from __future__ import annotations

import numpy as np

from nnparity.reference.learner import check, from_gradients


def _spiral_learner():
    rng = np.random.RandomState(7)
    n = 36
    t = np.linspace(0, 3 * np.pi, n)
    X = np.stack([t * np.cos(t), t * np.sin(t)], axis=1) + 0.2 * rng.randn(n, 2)
    X, y = X / np.abs(X).max(), np.arange(n) % 3
    sizes = [2, 10, 10, 3]
    P = {}
    for l, (i, o) in enumerate(zip(sizes[:-1], sizes[1:], strict=True), start=1):
        P[f"W{l}"], P[f"b{l}"] = rng.randn(o, i) * np.sqrt(2 / i), np.zeros((o, 1))

    def grads(Xb, yb):  # column layout, leaky ReLU 0.05, softmax + cross-entropy
        A, Z = [Xb.T], []
        for l in (1, 2, 3):
            Z.append(P[f"W{l}"] @ A[-1] + P[f"b{l}"])
            A.append(np.where(Z[-1] > 0, Z[-1], 0.05 * Z[-1]) if l < 3 else Z[-1])
        e = np.exp(A[-1] - A[-1].max(0))
        p = e / e.sum(0)
        m = len(yb)
        dZ = p.copy()
        dZ[yb, np.arange(m)] -= 1
        dZ /= m
        g = {}
        for l in (3, 2, 1):
            g[f"W{l}"], g[f"b{l}"] = dZ @ A[l - 1].T, dZ.sum(1, keepdims=True)
            if l > 1:
                dZ = (P[f"W{l}"].T @ dZ) * np.where(Z[l - 2] > 0, 1.0, 0.05)
        return -np.mean(np.log(p[yb, np.arange(m)])), [g[k] for k in P]

    def forward(Xb):
        a = Xb.T
        for l in (1, 2, 3):
            z = P[f"W{l}"] @ a + P[f"b{l}"]
            a = np.where(z > 0, z, 0.05 * z) if l < 3 else z
        e = np.exp(a - a.max(0))
        return (e / e.sum(0)).T

    decl = dict(activations="leaky_relu(0.05),leaky_relu(0.05),softmax", loss="cross_entropy",
                optimizer="sgd", lr=0.3, batch_size=12)  # fmt: skip
    return from_gradients(P, list(P), grads, forward=forward, sizes=sizes, **decl), X, y


def test_a_run_adam_fits_at_a_smaller_lr_is_slow_training_not_capacity():
    adapter, X, y = _spiral_learner()
    r = check(adapter, X, y, steps=3, watch=0)
    assert r.code == "match", r.render()
    assert r.training.outcome == "model_limitation", r.render()
    codes = [f.code for f in r.findings if f.kind == "limitation"]
    assert "capacity" not in codes and "slow_training" in codes, r.render()
    assert "but adam(lr=0.01) from the same weights fits" in r.render()


def test_adam_at_a_smaller_lr_comes_before_a_fresh_start():
    """Review s15c: XOR with 2 tanh units, SGD lr 2, where Adam at 0.03 stalls and at 0.01
    fits from the learner's own weights, was told local_minimum ("re-initialise"): the start
    is fine, the step was too large."""
    r = np.random.RandomState(3)
    P = {"W1": r.randn(2, 2) * 0.5, "b1": r.randn(2) * 0.1, "W2": r.randn(2, 1) * 0.5,
         "b2": r.randn(1) * 0.1}  # fmt: skip
    X = np.array([[0.0, 0], [0, 1], [1, 0], [1, 1]])
    y = np.array([[0.0], [1], [1], [0]])

    def forward(X):
        return 1 / (1 + np.exp(-(np.tanh(X @ P["W1"] + P["b1"]) @ P["W2"] + P["b2"])))

    def grads(X, y):
        h = np.tanh(X @ P["W1"] + P["b1"])
        a = 1 / (1 + np.exp(-(h @ P["W2"] + P["b2"])))
        d = 2 * (a - y) / a.size * a * (1 - a)
        dz = d @ P["W2"].T * (1 - h**2)
        return [X.T @ dz, dz.sum(0), h.T @ d, d.sum(0)]

    decl = dict(activations="tanh,sigmoid", loss="mse", optimizer="sgd", lr=2.0)
    adapter = from_gradients(P, list(P), grads, forward=forward, sizes=[2, 2, 1], **decl)
    r = check(adapter, X, y, steps=3, watch=0)
    codes = [f.code for f in r.findings if f.kind == "limitation"]
    assert "local_minimum" not in codes and "slow_training" in codes, r.render()
    assert "but adam(lr=0.01) from the same weights fits" in r.render()
