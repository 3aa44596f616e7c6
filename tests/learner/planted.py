"""A textbook NumPy MLP with one planted bug at a time, for the checker's sensitivity tests.

3-4-4-2, tanh -> relu -> sigmoid, weights (in, out), separate biases, loss half_sse (mean over
the batch of 1/2 ||a - y||^2), plain SGD; with ``reg``, an L2 penalty reg/2 * sum W^2 (weights
only). ``bug`` names the mistake; None is the correct code.
"""

from __future__ import annotations

import numpy as np

SIZES = (3, 4, 4, 2)
NAMES = ["W1", "b1", "W2", "b2", "W3", "b3"]


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


class PlantedMLP:
    def __init__(self, bug=None, seed=0, hidden="relu", reg=0.0):
        rng = np.random.default_rng(seed)
        self.bug, self.hidden, self.reg = bug, hidden, reg
        for l, (n_in, n_out) in enumerate(zip(SIZES[:-1], SIZES[1:], strict=True), start=1):
            setattr(self, f"W{l}", rng.normal(0, 0.7, (n_in, n_out)))
            setattr(self, f"b{l}", rng.normal(0, 0.1, n_out))
        self.W3T = self.W3.T.copy()  # 'stale_W3': a transposed copy kept from __init__

    def act2(self, z):
        return np.where(z > 0, z, 0.01 * z) if self.hidden == "leaky_relu" else np.maximum(z, 0)

    def forward(self, X):
        bug = self.bug
        W1 = self.W1.T if bug == "forward_transposed" else self.W1
        self.z1 = X @ W1 + self.b1
        self.a1 = np.tanh(self.z1)
        after = bug == "forward_bias_after"  # relu(x W) + b
        self.z2 = self.a1 @ self.W2 + (0 if bug == "forward_no_bias" or after else self.b2)
        self.a2 = self.act2(self.z2) + (self.b2 if after else 0)
        self.z3 = self.a2 @ self.W3 + self.b3
        self.a3 = np.tanh(self.z3) if bug == "forward_tanh" else sigmoid(self.z3)
        self.a3 = 1 / (1 + np.exp(self.z3)) if bug == "forward_sigmoid_sign" else self.a3
        return self.a3

    def grads(self, X, y):
        bug, n = self.bug, len(X)
        a3 = self.forward(X)
        dz3 = (a3 - y) * a3 * (1 - a3) / n
        if bug == "sum":
            dz3 = dz3 * n
        if bug == "sign":
            dz3 = -dz3
        if bug == "mse_grad":
            dz3 = 2 * dz3
        if bug == "missing_out":
            dz3 = (a3 - y) / n
        if bug == "at_output":
            s = sigmoid(a3)
            dz3 = (a3 - y) * s * (1 - s) / n
        if bug == "twice":
            dz3 = (a3 - y) * (a3 * (1 - a3)) ** 2 / n
        if bug == "sigmoid_of_z":
            dz3 = (a3 - y) * self.z3 * (1 - self.z3) / n
        g = {"W3": self.a2.T @ dz3, "b3": dz3.sum(0)}
        if bug == "inplace":  # relu' written into the cached a2 before dW3 is built from it
            self.a2[self.a2 > 0] = 1
            g["W3"] = self.a2.T @ dz3
        if bug == "cache":
            g["W3"] = self.z2.T @ dz3
        if bug == "bias_mean":
            g["b3"] = dz3.mean(0)
        if bug == "bias_total":
            g["b3"] = np.full(2, dz3.sum())
        da2 = dz3 @ (self.W3T if bug == "stale_W3" else self.W3.T)
        d2 = (self.z2 > 0).astype(float)
        if bug == "mask_from_z1":  # relu's mask read from layer 1's cache
            d2 = (self.z1 > 0).astype(float)
        if bug == "mask_on_grad":  # nnfs: dinputs[dvalues <= 0] = 0
            d2 = (da2 > 0).astype(float)
        if self.hidden == "leaky_relu" and bug != "leaky_as_relu":
            d2 = np.where(self.z2 > 0, 1.0, 0.01)
        if bug == "sigmoid_deriv":
            d2 = sigmoid(self.z2)
        if bug == "z_deriv":
            d2 = self.z2
        if bug == "kink":
            d2 = (self.z2 >= 0).astype(float)
        dz2 = da2 * d2
        g["W2"], g["b2"] = self.a1.T @ dz2, dz2.sum(0)
        if bug == "transposed":
            g["W2"] = g["W2"].T
        da1 = dz2 @ (self.W2.T if bug != "backT" else self.W2)
        dz1 = da1 * ((1 - self.z1**2) if bug == "tanh_of_z" else (1 - self.a1**2))
        if bug == "tanh_sigmoid_formula":  # sigmoid's a (1 - a) on tanh's output
            dz1 = da1 * self.a1 * (1 - self.a1)
        g["W1"], g["b1"] = X.T @ dz1, dz1.sum(0)
        if bug == "unexplained":
            g["W1"] = g["W1"] + 0.05 * np.arange(g["W1"].size).reshape(g["W1"].shape) / 12
        if bug == "layout":
            g["W1"] = g["W1"].T
        if bug == "bias_not_summed":
            g["b1"] = dz1
        if bug == "bias_axis1":
            g["b1"] = dz1.sum(1)
        if self.reg:  # L2: the loss gains reg/2 * sum W^2 over the weights
            lam = {"l2_double": 2 * self.reg, "l2_sign": -self.reg, "l2_missing": 0.0}
            for l in (1, 2, 3):
                g[f"W{l}"] = g[f"W{l}"] + lam.get(bug, self.reg) * getattr(self, f"W{l}")
                if bug == "l2_bias":
                    g[f"b{l}"] = g[f"b{l}"] + self.reg * getattr(self, f"b{l}")
        return g

    def step(self, X, y, lr=0.1, mu=0.0, nesterov=False):
        """In-place SGD step (classical momentum mu: v = mu v - lr g, w += v; or Nesterov's);
        'updated' backpropagates through the already-updated W3; 'ascent' adds the gradient."""
        if self.bug != "updated":
            g = self.grads(X, y)
            sign = 1 if self.bug == "ascent" else -1
            vel = self.__dict__.setdefault("velocity", {})
            for k, v in g.items():
                vel[k] = mu * vel.get(k, 0.0) + sign * lr * v
                step = mu * vel[k] + sign * lr * v if nesterov else vel[k]
                setattr(self, k, getattr(self, k) + step)
            return
        n = len(X)
        a3 = self.forward(X)
        dz3 = (a3 - y) * a3 * (1 - a3) / n
        self.W3 = self.W3 - lr * self.a2.T @ dz3
        self.b3 = self.b3 - lr * dz3.sum(0)
        dz2 = dz3 @ self.W3.T * (self.z2 > 0)
        self.W2, self.b2 = self.W2 - lr * self.a1.T @ dz2, self.b2 - lr * dz2.sum(0)
        dz1 = dz2 @ self.W2.T * (1 - self.a1**2)
        self.W1, self.b1 = self.W1 - lr * X.T @ dz1, self.b1 - lr * dz1.sum(0)


def data(n=6, seed=1):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 3)), rng.uniform(size=(n, 2))


DECLARED = dict(
    sizes=list(SIZES), activations="tanh,relu,sigmoid", loss="half_sse", optimizer="sgd", lr=0.1
)
