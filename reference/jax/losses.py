"""The JAX losses ((output, target) -> scalar), each with PyTorch's declared conventions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from nnparity.scratch.registry import Registry

Array = Any  # a jax.Array

jax_losses: Registry[Callable[[Array, Array], Array]] = Registry("loss")

loss = jax_losses.register


def _reduce(per: Array, n: int, reduction: str) -> Array:
    """'mean' over ``n``, 'batch' over the samples (``per``'s first axis), 'sum'."""
    total = per.sum()
    if reduction == "batch":
        return total / per.shape[0]
    return total / n if reduction == "mean" else total


@loss()
def mse(reduction: str = "mean") -> Callable:
    return lambda a, y: _reduce((a - y) ** 2, a.size, reduction)


@loss()
def half_sse(reduction: str = "mean") -> Callable:
    return lambda a, y: _reduce(0.5 * (a - y) ** 2, a.shape[0], reduction)


@loss()
def sse(reduction: str = "mean") -> Callable:
    return lambda a, y: _reduce((a - y) ** 2, a.shape[0], reduction)


@loss()
def huber(delta: float = 1.0, reduction: str = "mean") -> Callable:
    return lambda a, y: _reduce(optax.losses.huber_loss(a, y, delta=delta), a.size, reduction)


@loss()
def l1(reduction: str = "mean") -> Callable:
    return lambda a, y: _reduce(jnp.abs(a - y), a.size, reduction)


@loss()
def hinge(margin: float = 1.0, reduction: str = "mean") -> Callable:
    return lambda a, y: _reduce(jax.nn.relu(margin - y * a), a.size, reduction)


@loss()
def multi_margin(margin: float = 1.0, reduction: str = "mean") -> Callable:
    def f(a: Array, y: Array) -> Array:
        q = jax.nn.one_hot(y, a.shape[1], dtype=a.dtype)
        own = (a * q).sum(1, keepdims=True)
        return _reduce(jax.nn.relu(margin - own + a) * (1 - q), a.size, reduction)

    return f


_BCE_EPSILON = float(np.float32(1e-12))  # PyTorch's C++ float clamp, also in float64


@jax.custom_vjp
def _bce(p: Array, y: Array) -> Array:
    return -(y * jnp.maximum(jnp.log(p), -100.0) + (1.0 - y) * jnp.maximum(jnp.log1p(-p), -100.0))


def _bce_fwd(p: Array, y: Array) -> tuple[Array, tuple[Array, Array]]:
    return _bce(p, y), (p, y)


def _bce_bwd(res: tuple[Array, Array], g: Array) -> tuple[Array, Array]:
    p, y = res
    return g * (p - y) / jnp.maximum(p * (1.0 - p), _BCE_EPSILON), jnp.zeros_like(y)


_bce.defvjp(_bce_fwd, _bce_bwd)


@loss()
def bce(reduction: str = "mean") -> Callable:
    """Written out with PyTorch's clamps: log at -100 (forward), p(1-p) >= 1e-12 (backward)."""
    return lambda p, y: _reduce(_bce(p, y), p.size, reduction)


@loss()
def bce_with_logits(reduction: str = "mean") -> Callable:
    return lambda z, y: _reduce(optax.sigmoid_binary_cross_entropy(z, y), z.size, reduction)


@loss()
def cross_entropy(label_smoothing: float = 0.0, reduction: str = "mean") -> Callable:
    def f(z: Array, y: Array) -> Array:
        q = optax.smooth_labels(jax.nn.one_hot(y, z.shape[1], dtype=z.dtype), label_smoothing)
        return _reduce(optax.softmax_cross_entropy(z, q), z.shape[0], reduction)

    return f


@loss()
def nll(reduction: str = "mean") -> Callable:
    def f(logp: Array, y: Array) -> Array:
        picked = jnp.take_along_axis(logp, y[:, None], axis=1)
        return _reduce(-picked, logp.shape[0], reduction)

    return f
