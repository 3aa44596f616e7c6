"""A tiny learner for the sandbox tests: ``make(hook, loss_hook, init_hook)``, written as
``base.py`` beside a student's file (a correct 2-3-1 tanh network on four rows)."""

BASE = """
import numpy as np
from nnparity.reference.learner import from_gradients

X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
Y = np.array([[1.0], [1.0], [0.0], [0.0]])


def make(hook=None, loss_hook=None, init_hook=None):
    rng = np.random.RandomState(0)
    p = {"W1": rng.randn(2, 3), "b1": np.zeros(3), "W2": rng.randn(3, 1), "b2": np.zeros(1)}
    if init_hook:
        init_hook(p)

    def grads(X, y):
        if hook:
            hook()
        h = np.tanh(X @ p["W1"] + p["b1"])
        out = h @ p["W2"] + p["b2"]
        d = 2 * (out - y) / out.size
        dh = d @ p["W2"].T * (1 - h**2)
        loss = float(np.mean((out - y) ** 2))
        if loss_hook:
            loss = loss_hook(loss)
        return loss, {"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ d, "b2": d.sum(0)}

    return from_gradients(p, ["W1", "b1", "W2", "b2"], grads, sizes=[2, 3, 1],
                          activations="tanh,identity", loss="mse", optimizer="sgd", lr=0.1,
                          data=(X, Y))
"""
