"""A one-hidden-layer tanh network under MSE written as a learner writes it (weights (in, out),
a list of four arrays), for tests that plant one bug in it: ``net()`` gives 4-5-3 parameters
and data, ``passes(P, X, Y)`` the forward and backward values (any sizes), ``grads_of(P)`` the
correct gradient function, ``adapter(P, grads)`` the 4-5-3 adapter."""

import numpy as np

from nnparity.reference.learner import from_gradients


def net(seed: int = 0):
    """(P, X, Y): W1 (4, 5), b1, W2 (5, 3), b2; twelve rows."""
    r = np.random.RandomState(seed)
    P = [r.randn(4, 5) * 0.5, np.zeros(5), r.randn(5, 3) * 0.5, np.zeros(3)]
    return P, r.randn(12, 4), r.randn(12, 3)


def passes(P, X, Y):
    """(h, dL/dz2, dL/dz1) of the mean squared error over every element."""
    W1, b1, W2, b2 = P
    h = np.tanh(X @ W1 + b1)
    do = 2 * (h @ W2 + b2 - Y) / Y.size
    return h, do, do @ W2.T * (1 - h**2)


def grads_of(P):
    """The correct gradient function of the network ``P`` (changed in place by its steps)."""

    def grads(X, Y):
        h, do, dh = passes(P, X, Y)
        return [X.T @ dh, dh.sum(0), h.T @ do, do.sum(0)]

    return grads


def adapter(P, grads, **kw):
    return from_gradients(
        P, [f"[{i}]" for i in range(4)], grads, sizes=[4, 5, 3], activations="tanh,identity",
        loss="mse", optimizer="sgd", lr=0.1, layout="in_out", **kw,
    )  # fmt: skip
