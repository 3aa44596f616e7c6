"""Learners written as learners write them, for the review findings of issue 11
(``test_review_findings.py``): a 1-H-1 (or 2-H-2) tanh regression with its own Adam step, and
bugs that can be planted in it one at a time.

Adam bugs (``adam=...``): ``bias_mean`` (a gradient bug: bias gradients averaged over the
batch), ``beta1`` (0.8 where 0.9 is declared), ``nosqrt`` (v_hat without
the root), ``lr`` (lr off by 1e-3 relative), ``v_nobc`` (bias correction on m only),
``eps4`` (eps = 1e-4 where 1e-8 is declared), ``b2_bc`` (beta2 = 0.99 in the correction,
0.999 in the moving average). Gradient bug ``updated`` (class 4, non-fused): W2 is updated
first, then dW1 is computed from the new W2.
"""

from __future__ import annotations

import numpy as np

from nnparity.reference.learner import from_gradients, from_layers, from_loss, from_step

NAMES = ["W1", "b1", "W2", "b2"]


def odd_data(n: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """X = linspace(-2, 2) as a column, Y = sin X: with zero biases and tanh, db1 = db2 = 0
    in exact maths."""
    X = np.linspace(-2, 2, n)[:, None]
    return X, np.sin(X)


def plain_data(n: int = 10, d: int = 2, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    return X, np.tanh(X @ rng.normal(size=(d, d))) + 0.1


class AdamNet:
    """d-H-d, tanh then identity, mse, params (in, out) in a dict."""

    def __init__(self, d=1, H=8, lr=0.01, adam=None, grad_bug=None, seed=0, zero_bias=True):
        rng = np.random.default_rng(seed)
        self.P = {
            "W1": rng.normal(0, 1, (d, H)),
            "b1": np.zeros(H) if zero_bias else rng.normal(0, 0.3, H),
            "W2": rng.normal(0, 1 / np.sqrt(H), (H, d)),
            "b2": np.zeros(d) if zero_bias else rng.normal(0, 0.3, d),
        }
        self.m = {k: np.zeros_like(v) for k, v in self.P.items()}
        self.v = {k: np.zeros_like(v) for k, v in self.P.items()}
        self.t, self.lr, self.adam, self.grad_bug = 0, lr, adam, grad_bug

    def forward(self, X):
        P = self.P
        self.a1 = np.tanh(X @ P["W1"] + P["b1"])
        return self.a1 @ P["W2"] + P["b2"]

    def loss_grads(self, X, y):
        P = self.P
        out = self.forward(X)
        d = 2 * (out - y) / out.size
        g = {"W2": self.a1.T @ d, "b2": d.sum(0)}
        dz1 = d @ P["W2"].T * (1 - self.a1**2)
        g["W1"], g["b1"] = X.T @ dz1, dz1.sum(0)
        if self.adam == "bias_mean":  # a gradient bug on the biases (0 at step 1 here)
            g["b1"], g["b2"] = dz1.mean(0), d.mean(0)
        return float(((out - y) ** 2).mean()), g

    def grads(self, X, y):
        return self.loss_grads(X, y)[1]

    def adam_one(self, k, g):
        b1, b2, eps, lr, bug = 0.9, 0.999, 1e-8, self.lr, self.adam
        if bug == "beta1":
            b1 = 0.8
        if bug == "eps4":
            eps = 1e-4
        if bug == "lr":
            lr = lr * (1 + 1e-3)
        t = self.t
        self.m[k] = b1 * self.m[k] + (1 - b1) * g
        self.v[k] = b2 * self.v[k] + (1 - b2) * g * g
        mh = self.m[k] / (1 - b1**t)
        vh = (
            self.v[k]
            if bug == "v_nobc"
            else self.v[k] / (1 - (0.99 if bug == "b2_bc" else b2) ** t)
        )
        den = (vh if bug == "nosqrt" else np.sqrt(vh)) + eps
        self.P[k] = self.P[k] - lr * mh / den

    def adam_step(self, X, y):
        """A whole step: gradients, then the learner's Adam on every parameter."""
        g = self.grads(X, y)
        self.t += 1
        for k in NAMES:
            self.adam_one(k, g[k])

    def apply(self, X, y):
        """The update alone (for from_gradients(step=...)): the gradients were computed."""
        self.t += 1
        for k in NAMES:
            self.adam_one(k, self.last[k])

    def grads_for_step(self, X, y):
        self.last = self.grads(X, y)
        return self.last


def decl(d: int, H: int, lr: float, optimizer: str = "adam") -> dict:
    return dict(
        sizes=[d, H, d], activations="tanh,identity", loss="mse", optimizer=optimizer, lr=lr
    )


def adam_learner(style: str, adam=None, d=1, H=8, lr=0.01, zero_bias=True, dtype="float64"):
    """The Adam learner in ``style``: ``step`` (from_step), ``loss`` (from_loss with step=) or
    ``gradients`` (from_gradients with step=); ``dtype``: its weights' (and so its maths')."""
    net = AdamNet(d, H, lr, adam, zero_bias=zero_bias)
    for k in net.P:
        net.P[k] = net.P[k].astype(dtype)
        net.m[k], net.v[k] = net.m[k].astype(dtype), net.v[k].astype(dtype)
    kw = decl(d, H, lr)
    if style == "step":
        return from_step(net.P, NAMES, net.adam_step, **kw)
    if style == "loss":

        def lg(X, y):
            loss, g = net.loss_grads(X, y)
            net.last = g
            return loss, g

        return from_loss(net.P, lg, step=net.apply, **kw)
    return from_gradients(net.P, NAMES, net.grads_for_step, step=net.apply, **kw)


class Dense:
    """A layer object; ``acc`` names the buffers its backward adds into (``"W"``, ``"b"``)."""

    def __init__(self, n_in, n_out, rng, acc=()):
        self.W, self.b = rng.normal(0, 0.5, (n_in, n_out)), np.zeros(n_out)
        self.dW, self.db = np.zeros_like(self.W), np.zeros_like(self.b)
        self.acc = set(acc)

    def forward(self, x):
        self.x = x
        return x @ self.W + self.b

    def backward(self, dz):
        dW, db = self.x.T @ dz, dz.sum(0)
        if "W" in self.acc:  # the bug: this buffer is never zeroed
            self.dW += dW
        else:
            self.dW = dW
        if "b" in self.acc:
            self.db += db
        else:
            self.db = db
        return dz @ self.W.T


ACC_DECL = dict(sizes=[3, 4, 2], activations="tanh,identity", loss="half_sse")
LAYER_NAMES = ["layers[0].W", "layers[0].b", "layers[1].W", "layers[1].b"]


def acc_learner(style: str, acc: tuple = ((), ()), optimizer: str = "sgd", lr: float = 0.1):
    """3-4-2 tanh layers whose ``acc[i]`` buffers accumulate, in ``style`` ``layers``,
    ``gradients`` or ``step`` (in-place SGD)."""
    rng = np.random.default_rng(0)
    layers = [Dense(3, 4, rng, acc[0]), Dense(4, 2, rng, acc[1])]

    def fb(X, y):
        h = np.tanh(layers[0].forward(X))
        out = layers[1].forward(h)
        layers[0].backward(layers[1].backward((out - y) / len(X)) * (1 - h**2))

    kw = dict(ACC_DECL, optimizer=optimizer, lr=lr)
    state = {"t": 0}

    def adam(X, y):  # the learner's Adam on the buffers its backward filled
        state["t"] += 1
        t = state["t"]
        for i, l in enumerate(layers):
            for name, g in (("W", l.dW), ("b", l.db)):
                m = state[(i, name, "m")] = 0.9 * state.get((i, name, "m"), 0.0) + 0.1 * g
                v = state[(i, name, "v")] = 0.999 * state.get((i, name, "v"), 0.0) + 1e-3 * g * g
                w = getattr(l, name)
                w -= lr * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)

    if style == "layers":
        return from_layers(layers, fb, weights="W", biases="b", dweights="dW", dbiases="db", **kw)
    if style == "gradients":

        def grads(X, y):
            fb(X, y)
            return [(l.dW, l.db) for l in layers]

        step = adam if optimizer == "adam" else None
        return from_gradients({"layers": layers}, LAYER_NAMES, grads, step=step, **kw)

    def step(X, y):
        fb(X, y)
        for l in layers:
            l.W -= lr * l.dW
            l.b -= lr * l.db

    return from_step({"layers": layers}, LAYER_NAMES, step, **kw)


def acc_data(n=6):
    return np.random.default_rng(1).normal(size=(n, 3)), np.random.default_rng(2).normal(
        size=(n, 2)
    )


ACTS = {
    "tanh": (np.tanh, lambda a: 1 - a**2),
    "sigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda a: a * (1 - a)),
    "identity": (lambda z: z, lambda a: np.ones_like(a)),
}


class LayerUpd:
    """A layer whose ``backward(dout, lr)`` updates its own weights; ``late`` returns dx
    through the updated W (the bug), else through the W of the forward pass."""

    def __init__(self, n_in, n_out, act, rng, late):
        self.W, self.b = rng.normal(0, 0.8, (n_in, n_out)), rng.normal(0, 0.2, n_out)
        self.f, self.df = ACTS[act]
        self.late = late

    def forward(self, x):
        self.x = x
        self.a = self.f(x @ self.W + self.b)
        return self.a

    def backward(self, da, lr):
        dz = da * self.df(self.a)
        W_old = self.W.copy()
        self.dW, self.db = self.x.T @ dz, dz.sum(0)
        self.W -= lr * self.dW
        self.b -= lr * self.db
        return dz @ (self.W if self.late else W_old).T


def late_learner(style: str, bug: bool, config: int = 0, lr: float = 0.1):
    """Class 4, non-fused: W2 is updated first, then dW1 is computed from the new W2.
    ``style``: ``layers`` (layer objects whose backward(dout, lr) updates, from_step),
    ``layer_grads`` (the same layers, their dW/db read by from_layers, no step given) or
    ``script`` (a dict of arrays and one step function, from_step with a forward pass).
    ``config`` 0: 3-5-2 tanh,identity half_sse; 1: 2-6-1 sigmoid,sigmoid mse."""
    sizes, acts, loss = [
        ([3, 5, 2], ("tanh", "identity"), "half_sse"),
        ([2, 6, 1], ("sigmoid", "sigmoid"), "mse"),
    ][config]
    kw = dict(sizes=sizes, activations=",".join(acts), loss=loss, optimizer="sgd", lr=lr)
    rng = np.random.default_rng(config)

    def dout(out, y):
        return (out - y) / len(y) if loss == "half_sse" else 2 * (out - y) / out.size

    if style in ("layers", "layer_grads"):
        layers = [
            LayerUpd(sizes[i], sizes[i + 1], acts[i], rng, bug) for i in range(len(sizes) - 1)
        ]

        def step(X, y):
            out = X
            for l in layers:
                out = l.forward(out)
            d = dout(out, y.reshape(out.shape))
            for l in reversed(layers):
                d = l.backward(d, lr)

        if style == "layer_grads":
            names = dict(weights="W", biases="b", dweights="dW", dbiases="db")
            return from_layers(layers, step, **names, **kw)
        return from_step({"layers": layers}, LAYER_NAMES, step, **kw)
    P = {
        "W1": rng.normal(0, 0.8, (sizes[0], sizes[1])),
        "b1": rng.normal(0, 0.2, sizes[1]),
        "W2": rng.normal(0, 0.8, (sizes[1], sizes[2])),
        "b2": rng.normal(0, 0.2, sizes[2]),
    }
    (f1, df1), (f2, df2) = ACTS[acts[0]], ACTS[acts[1]]

    def forward(X):
        return f2(f1(X @ P["W1"] + P["b1"]) @ P["W2"] + P["b2"])

    def step(X, y):
        a1 = f1(X @ P["W1"] + P["b1"])
        out = f2(a1 @ P["W2"] + P["b2"])
        dz2 = dout(out, y.reshape(out.shape)) * df2(out)
        dW2, db2 = a1.T @ dz2, dz2.sum(0)
        if bug:  # updates W2 before propagating through it
            P["W2"] -= lr * dW2
            P["b2"] -= lr * db2
        dz1 = dz2 @ P["W2"].T * df1(a1)
        if not bug:
            P["W2"] -= lr * dW2
            P["b2"] -= lr * db2
        P["W1"] -= lr * X.T @ dz1
        P["b1"] -= lr * dz1.sum(0)

    return from_step(P, NAMES, step, forward=forward, **kw)


def late_data(config: int = 0, n: int = 8):
    rng = np.random.default_rng(10 + config)
    d_in, d_out = [(3, 2), (2, 1)][config]
    X = rng.normal(size=(n, d_in))
    y = rng.uniform(size=(n, d_out)) if config else rng.normal(size=(n, d_out))
    return X, y


def adam_late_learner(bug, cfg=0, lr=0.01):
    """The late_learner script with its own Adam (from_step: no gradient exposed)."""
    sizes, acts, loss = [
        ([3, 5, 2], ("tanh", "identity"), "half_sse"),
        ([2, 6, 1], ("sigmoid", "sigmoid"), "mse"),
    ][cfg]
    rng = np.random.default_rng(cfg)
    P = {
        "W1": rng.normal(0, 0.8, (sizes[0], sizes[1])),
        "b1": rng.normal(0, 0.2, sizes[1]),
        "W2": rng.normal(0, 0.8, (sizes[1], sizes[2])),
        "b2": rng.normal(0, 0.2, sizes[2]),
    }
    M = {k: np.zeros_like(v) for k, v in P.items()}
    V = {k: np.zeros_like(v) for k, v in P.items()}
    T = [0]
    (f1, df1), (f2, df2) = ACTS[acts[0]], ACTS[acts[1]]

    def upd(k, g):
        t = T[0]
        M[k] = 0.9 * M[k] + 0.1 * g
        V[k] = 0.999 * V[k] + 0.001 * g * g
        P[k] -= lr * (M[k] / (1 - 0.9**t)) / (np.sqrt(V[k] / (1 - 0.999**t)) + 1e-8)

    def dout(out, y):
        return (out - y) / len(y) if loss == "half_sse" else 2 * (out - y) / out.size

    def step(X, y):
        T[0] += 1
        a1 = f1(X @ P["W1"] + P["b1"])
        out = f2(a1 @ P["W2"] + P["b2"])
        dz2 = dout(out, y.reshape(out.shape)) * df2(out)
        g2 = {"W2": a1.T @ dz2, "b2": dz2.sum(0)}
        if bug:
            for k, g in g2.items():
                upd(k, g)
        dz1 = dz2 @ P["W2"].T * df1(a1)
        if not bug:
            for k, g in g2.items():
                upd(k, g)
        upd("W1", X.T @ dz1)
        upd("b1", dz1.sum(0))

    kw = dict(sizes=sizes, activations=",".join(acts), loss=loss, optimizer="adam", lr=lr)
    return from_step(P, ["W1", "b1", "W2", "b2"], step, **kw)
