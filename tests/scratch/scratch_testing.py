"""Helpers shared by the scratch/ tests: central finite differences and loss inputs.

No torch here: scratch is checked against calculus (finite differences), hand formulas and
the values measured in CONVENTIONS.md.
"""

from __future__ import annotations

import numpy as np

from nnparity.scratch import activations, losses


def numgrad(fun, x, rel=1e-6, room=None):
    """Central differences of the scalar ``fun`` at every element of the float64 array ``x``,
    with a step that grows with |x| (h = rel * max(1, |x_i|)), or ``rel * room_i`` where the
    function's domain ends ``room_i`` away (a probability near 0 or 1)."""
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        h = rel * (max(1.0, abs(x[i])) if room is None else room[i])
        old = x[i]
        x[i] = old + h
        up = fun(x)
        x[i] = old - h
        down = fun(x)
        x[i] = old
        grad[i] = (up - down) / ((old + h) - (old - h))  # the step as represented
    return grad


def vjp_fd(f, z, g, rel=1e-6):
    """The finite-difference VJP g^T J_f(z), one input entry at a time. The outputs are
    subtracted before they are weighted and summed, so entries that do not move cancel
    exactly instead of adding round-off of their own size."""
    z = np.array(z, dtype=np.float64)
    out = np.zeros_like(z)
    for i in np.ndindex(z.shape):
        h = rel * max(1.0, abs(z[i]))
        old = z[i]
        z[i] = old + h
        up = np.array(f(z))  # a copy: f may return its input (identity)
        z[i] = old - h
        down = np.array(f(z))
        z[i] = old
        out[i] = np.sum(g * (up - down)) / ((old + h) - (old - h))
    return out


def act(name, **kwargs):
    return activations[name].build(kwargs)


def loss_fn(name, **kwargs):
    return losses[name].build(kwargs)


def loss_inputs(name, rng, batch=5, units=3, dtype=np.float64, scale=1.0):
    """An output ``a`` of the activation the loss expects, and a fitting target ``y``.

    Logits are N(0, scale^2) before the expected activation (sigmoid or log_softmax)."""
    loss = losses[name].build()
    units = max(units, loss.min_units)
    z = (scale * rng.standard_normal((batch, units))).astype(dtype)
    a = act(loss.expects).f(z) if loss.expects else z
    if loss.target == "class":
        y = rng.integers(0, units, batch)
    elif loss.target == "probability":
        y = rng.uniform(0, 1, (batch, units)).astype(dtype)
    elif loss.target == "sign":
        y = (2 * rng.integers(0, 2, (batch, units)) - 1).astype(dtype)
    else:
        y = rng.standard_normal((batch, units)).astype(dtype)
    return a, y
