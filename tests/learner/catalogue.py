"""Learner programs for every catalogue class of LEARNER_BUGS.md (1-16), with any set of bugs
planted at once, in two adapter styles and two weight layouts (the sensitivity test).

The network is 3-4-4-2, tanh -> relu -> sigmoid, loss half_sse, SGD (Adam for the optimizer
bugs), params in a dict ``P`` held (in, out). Layout ``out_in`` shows the learner's arrays
transposed (``TView``); style ``gradients`` is ``from_gradients`` (a dict of gradients),
style ``loss`` is ``from_loss`` (CS231n's ``(loss, grads)``). Step-only bugs (updated weights,
ascent) use ``from_step``, with a forward pass in style ``loss``.
"""

from __future__ import annotations

from collections.abc import MutableMapping

import numpy as np

from nnparity.reference.learner import from_gradients, from_loss, from_step

SIZES = (3, 4, 4, 2)
NAMES = ["W1", "b1", "W2", "b2", "W3", "b3"]
LR = 0.1


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


class TView(MutableMapping):
    """The learner keeps each weight as (out, in): a transposed view of ``P``."""

    def __init__(self, P):
        self.P = P

    def __getitem__(self, k):
        return self.P[k].T if k[0] == "W" else self.P[k]

    def __setitem__(self, k, v):
        self.P[k] = np.asarray(v).T if k[0] == "W" else v

    def __delitem__(self, k):
        del self.P[k]

    def __iter__(self):
        return iter(self.P)

    def __len__(self):
        return len(self.P)


class Net:
    def __init__(self, bugs=(), seed=0, reg=0.0):
        rng = np.random.default_rng(seed)
        self.bugs, self.reg = set(bugs), reg
        self.P = {}
        for l, (n_in, n_out) in enumerate(zip(SIZES[:-1], SIZES[1:], strict=True), start=1):
            self.P[f"W{l}"] = rng.normal(0, 0.7, (n_in, n_out))
            self.P[f"b{l}"] = rng.normal(0, 0.1, n_out)
        self.buf = {k: np.zeros_like(v) for k, v in self.P.items()}
        self.m, self.v, self.t = {}, {}, 0

    def forward(self, X):
        P = self.P
        self.z1 = X @ P["W1"] + P["b1"]
        self.a1 = np.tanh(self.z1)
        self.z2 = self.a1 @ P["W2"] + P["b2"]
        self.a2 = np.maximum(self.z2, 0)
        self.z3 = self.a2 @ P["W3"] + P["b3"]
        self.a3 = sigmoid(self.z3)
        return self.a3

    def loss(self, X, y):
        a = self.forward(X)
        y = y.reshape(a.shape) if y.size == a.size else y
        pen = self.reg / 2 * sum((self.P[f"W{l}"] ** 2).sum() for l in (1, 2, 3))
        return float(0.5 * ((a - y) ** 2).sum() / len(X) + pen)

    def grads(self, X, y, P=None):
        bugs, n, P = self.bugs, len(X), P or self.P
        a3 = self.forward(X)
        if "broadcast" not in bugs:
            y = y.reshape(a3.shape)
        d = a3 - y  # (n, 1) - (n,) broadcasts to (n, n) with the bug
        dz3 = d / n if "missing_out" in bugs else d * a3 * (1 - a3) / n
        dz3 = dz3 * (n if "sum" in bugs else 1) * (2 if "half" in bugs else 1)
        dz3 = -dz3 if "sign" in bugs else dz3
        g = {"W3": self.a2.T @ dz3, "b3": dz3.sum(0)}
        if "bias_mean" in bugs:
            g["b3"] = dz3.mean(0)
        if "cache" in bugs:
            g["W3"] = self.z2.T @ dz3
        if "inplace" in bugs:
            self.a2[self.a2 > 0] = 1
            g["W3"] = self.a2.T @ dz3
        d2 = sigmoid(self.z2) if "deriv2" in bugs else (self.z2 > 0).astype(float)
        dz2 = dz3 @ P["W3"].T * d2
        g["W2"], g["b2"] = self.a1.T @ dz2, dz2.sum(0)
        if "transposed" in bugs:
            g["W2"] = g["W2"].T
        da1 = dz2 @ (P["W2"] if "backT" in bugs else P["W2"].T)
        dz1 = da1 * ((1 - self.z1**2) if "tanh_of_z" in bugs else (1 - self.a1**2))
        g["W1"], g["b1"] = X.T @ dz1, dz1.sum(0)
        if self.reg:
            lam = 2 * self.reg if "l2_double" in bugs else self.reg
            for l in (1, 2, 3):
                g[f"W{l}"] = g[f"W{l}"] + lam * P[f"W{l}"]
        if "accumulate" in bugs:  # added into buffers nothing resets
            for k in g:
                self.buf[k] += g[k]
            g = {k: self.buf[k].copy() for k in g}
        return g

    def adam(self, X, y):
        """The learner's own Adam step from its own gradients (``adam_eps``: eps inside the
        root; ``adam_nobc``: no bias correction)."""
        g = self.grads(X, y)
        self.t += 1
        b1, b2, eps, t = 0.9, 0.999, 1e-8, self.t
        for k, gk in g.items():
            m = self.m[k] = b1 * self.m.get(k, 0.0) + (1 - b1) * gk
            v = self.v[k] = b2 * self.v.get(k, 0.0) + (1 - b2) * gk * gk
            if "adam_nobc" not in self.bugs:
                m, v = m / (1 - b1**t), v / (1 - b2**t)
            den = np.sqrt(v + eps) if "adam_eps" in self.bugs else np.sqrt(v) + eps
            self.P[k] = self.P[k] - 0.01 * m / den

    def step(self, X, y):
        """In-place SGD (``ascent``: adds the gradient; ``updated``: backpropagates through
        the already-updated W3)."""
        if "updated" not in self.bugs:
            sign = 1 if "ascent" in self.bugs else -1
            for k, gk in self.grads(X, y).items():
                self.P[k] = self.P[k] + sign * LR * gk
            return
        P = self.P
        a3 = self.forward(X)
        dz3 = (a3 - y) * a3 * (1 - a3) / len(X)
        P["W3"], P["b3"] = P["W3"] - LR * self.a2.T @ dz3, P["b3"] - LR * dz3.sum(0)
        dz2 = dz3 @ P["W3"].T * (self.z2 > 0)
        P["W2"], P["b2"] = P["W2"] - LR * self.a1.T @ dz2, P["b2"] - LR * dz2.sum(0)
        dz1 = dz2 @ P["W2"].T * (1 - self.a1**2)
        P["W1"], P["b1"] = P["W1"] - LR * X.T @ dz1, P["b1"] - LR * dz1.sum(0)


STEP_BUGS = {"updated", "ascent"}
ADAM_BUGS = {"adam_eps", "adam_nobc"}


def adapter(bugs, style, layout, reg=0.0, adam=False):
    """The learner with ``bugs`` in adapter ``style`` and weight ``layout`` (``adam``: its own
    Adam step, as with the Adam bugs)."""
    adam = adam or bool(set(bugs) & ADAM_BUGS)
    net = Net(bugs, reg=reg)
    root = net.P if layout == "in_out" else TView(net.P)

    def grads(X, y):
        g = net.grads(X, y)
        return {k: v.T if k[0] == "W" and layout == "out_in" else v for k, v in g.items()}

    decl = dict(
        sizes=list(SIZES),
        activations="tanh,relu,sigmoid",
        loss="half_sse",
        optimizer="sgd",
        lr=LR,
        l2=reg,
    )
    if adam:
        decl["optimizer"], decl["lr"] = "adam", 0.01
    step = net.adam if adam else None
    if set(bugs) & STEP_BUGS:
        fwd = net.forward if style == "loss" else None
        return from_step(root, NAMES, net.step, forward=fwd, **decl)
    if style == "gradients":
        return from_gradients(root, NAMES, grads, step=step, **decl)
    return from_loss(root, lambda X, y: (net.loss(X, y), grads(X, y)), step=step, **decl)


def data(n=6, seed=1):
    rng = np.random.default_rng(seed)
    X, y = rng.normal(size=(n, 3)), rng.uniform(size=(n, 2))
    return X, y


def _wrap(P, grads, loss, style, layout, decl):
    root = P if layout == "in_out" else TView(P)

    def g(X, y):
        return {k: v.T if k[0] == "W" and layout == "out_in" else v for k, v in grads(X, y).items()}

    names = list(P)
    if style == "gradients":
        return from_gradients(root, names, g, **decl)
    return from_loss(root, lambda X, y: (loss(X, y), g(X, y)), names=names, **decl)


def small(kind, bug, style, layout):
    """(adapter, X, y) for the classes the 3-4-4-2 net cannot show: ``softmax`` (12),
    ``bce`` (13: the naive -y/a + (1-y)/(1-a) that divides by a saturated output),
    ``vector`` (14: a (n,) target against (n, 1) outputs), ``xor`` (15: no bias, no hidden
    layer: a model that cannot fit). ``bug`` False gives the correct twin."""
    rng = np.random.default_rng(3)
    if kind == "softmax":
        P = {"W1": rng.normal(0, 0.8, (3, 4)), "b1": np.zeros(4), "W2": rng.normal(0, 0.8, (4, 4))}
        P["b2"] = np.zeros(4)
        X, y = rng.normal(size=(8, 3)), np.eye(4)[rng.integers(0, 4, 8)]

        def fwd(X):
            a1 = np.tanh(X @ P["W1"] + P["b1"])
            z = a1 @ P["W2"] + P["b2"]
            e = np.exp(z - z.max(axis=1, keepdims=True))
            return a1, e / e.sum(axis=1, keepdims=True)

        def loss(X, y):
            return float(0.5 * ((fwd(X)[1] - y) ** 2).sum() / len(X))

        def grads(X, y):
            a1, a2 = fwd(X)
            da = (a2 - y) / len(X)
            dz2 = da * a2 * (1 - a2) if bug else a2 * (da - (da * a2).sum(axis=1, keepdims=True))
            dz1 = dz2 @ P["W2"].T * (1 - a1**2)
            return {"W1": X.T @ dz1, "b1": dz1.sum(0), "W2": a1.T @ dz2, "b2": dz2.sum(0)}

        decl = dict(sizes=[3, 4, 4], activations="tanh,softmax", loss="half_sse", lr=0.5)
        return _wrap(P, grads, loss, style, layout, decl), X, y
    if kind == "bce":
        P = {"W1": rng.normal(0, 1.0, (2, 3)), "b1": np.zeros(3), "W2": rng.normal(0, 1, (3, 1))}
        P["b2"] = np.zeros(1)
        X = 4 * np.array([[1.0, 2.0], [2.0, 1.0], [-1.0, -2.0], [-2.0, -1.0]])
        y = np.array([[1.0], [1.0], [0.0], [0.0]])

        def fwd(X):
            a1 = np.tanh(X @ P["W1"] + P["b1"])
            return a1, 1 / (1 + np.exp(-(a1 @ P["W2"] + P["b2"])))

        def loss(X, y):  # from the logits, stable: log(1 + e^z) - y z
            z = np.tanh(X @ P["W1"] + P["b1"]) @ P["W2"] + P["b2"]
            return float((np.logaddexp(0, z) - y * z).mean())

        def grads(X, y):
            a1, a = fwd(X)
            if bug:  # dL/da, then sigma': divides by 1 - a, exactly 0 once saturated
                dz2 = (-y / a + (1 - y) / (1 - a)) * a * (1 - a) / len(X)
            else:
                dz2 = (a - y) / len(X)
            dz1 = dz2 @ P["W2"].T * (1 - a1**2)
            return {"W1": X.T @ dz1, "b1": dz1.sum(0), "W2": a1.T @ dz2, "b2": dz2.sum(0)}

        decl = dict(sizes=[2, 3, 1], activations="tanh,sigmoid", loss="bce", lr=50.0)
        return _wrap(P, grads, loss, style, layout, decl), X, y
    if kind == "vector":
        P = {"W1": rng.normal(0, 0.8, (2, 1)), "b1": np.zeros(1)}
        X, y = rng.normal(size=(5, 2)), rng.normal(size=5)  # y a vector (5,)

        def loss(X, y):
            return float((((X @ P["W1"] + P["b1"])[:, 0] - y) ** 2).mean())

        def grads(X, y):
            out = X @ P["W1"] + P["b1"]
            dz = 2 * (out - (y if bug else y.reshape(-1, 1))) / len(X)  # (5, 1) - (5,): (5, 5)
            return {"W1": X.T @ dz, "b1": dz.sum(0)}

        decl = dict(sizes=[2, 1], activations="identity", loss="mse", lr=0.1)
        return _wrap(P, grads, loss, style, layout, decl), X, y
    # xor: one linear layer without bias cannot fit XOR; the code is right either way
    P = {"W1": rng.normal(0, 0.5, (2, 1))}
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([[0.0], [1.0], [1.0], [0.0]])

    def fwd(X):
        return 1 / (1 + np.exp(-(X @ P["W1"])))

    def loss(X, y):
        return float(0.5 * ((fwd(X) - y) ** 2).sum() / len(X))

    def grads(X, y):
        a = fwd(X)
        return {"W1": X.T @ ((a - y) * a * (1 - a) / len(X))}

    decl = dict(sizes=[2, 1], activations="sigmoid", bias="none", loss="half_sse", lr=1.0)
    return _wrap(P, grads, loss, style, layout, decl), X, y
