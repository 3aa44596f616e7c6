"""Style (c), correct: a training step that updates the weights in place and shows no
gradient. Classical momentum (v = mu v - lr g; w += v) with a constant learning rate follows
the same trajectory as torch's SGD momentum, so it is declared ``sgd`` with ``momentum=0.9``;
the checker recovers the gradients from the weights before and after each step. The loss is
torch's MSE: the mean of (out - y)^2 over all N*D elements.
"""

import numpy as np


class MomentumRegressor:
    def __init__(self, n_in, n_hidden, n_out, lr=0.05, mu=0.9, seed=0):
        rng = np.random.RandomState(seed)
        self.W1 = rng.randn(n_in, n_hidden) / np.sqrt(n_in)
        self.b1 = np.zeros(n_hidden)
        self.W2 = rng.randn(n_hidden, n_out) / np.sqrt(n_hidden)
        self.b2 = np.zeros(n_out)
        self.lr, self.mu = lr, mu
        self.velocity = {}

    def train_step(self, X, y):
        h = np.tanh(X @ self.W1 + self.b1)
        out = h @ self.W2 + self.b2
        dout = 2 * (out - y) / out.size
        dh = dout @ self.W2.T * (1 - h**2)
        grads = {"W2": h.T @ dout, "b2": dout.sum(0), "W1": X.T @ dh, "b1": dh.sum(0)}
        for name, g in grads.items():
            v = self.mu * self.velocity.get(name, 0.0) - self.lr * g
            self.velocity[name] = v
            setattr(self, name, getattr(self, name) + v)
        return float(np.mean((out - y) ** 2))


X = np.linspace(-2, 2, 16)[:, None]
Y = np.sin(X)


def nnparity_adapter():
    from nnparity.reference.learner import from_step

    net = MomentumRegressor(1, 8, 1)
    return from_step(
        net,
        ["W1", "b1", "W2", "b2"],
        net.train_step,
        sizes=[1, 8, 1],
        activations="tanh,identity",
        loss="mse",
        optimizer="sgd(momentum=0.9)",
        lr=0.05,
        data=(X, Y),
    )
