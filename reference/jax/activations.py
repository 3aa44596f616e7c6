"""The JAX activations (z -> a), each with PyTorch's declared conventions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from nnparity.scratch.registry import Registry

Array = Any  # a jax.Array

jax_activations: Registry[Callable[[Array], Array]] = Registry("activation")

act = jax_activations.register


@act()
def identity() -> Callable:
    return lambda z: z


@act()
def sigmoid() -> Callable:
    return jax.nn.sigmoid


@act()
def tanh() -> Callable:
    return jnp.tanh


@act()
def relu() -> Callable:
    return jax.nn.relu  # custom JVP: 0 at the kink, as PyTorch


@act()
def leaky_relu(slope: float = 0.01) -> Callable:
    """Written out: the test z > 0 puts 0 on the negative side (grad = slope at 0, PyTorch's
    convention; jax.nn.leaky_relu tests z >= 0 and gives 1)."""
    return lambda z: jnp.where(z > 0, z, slope * z)


@act()
def elu(alpha: float = 1.0) -> Callable:
    return lambda z: jax.nn.elu(z, alpha)


@act()
def selu() -> Callable:
    return jax.nn.selu


@act()
def gelu(approximate: str = "none") -> Callable:
    """jax.nn.gelu with the approximation named explicitly (its own default is the tanh form)."""
    exact = approximate == "none"
    return lambda z: jax.nn.gelu(z, approximate=not exact)


@act()
def silu() -> Callable:
    return jax.nn.silu


@act()
def softplus(beta: float = 1.0, threshold: float = 20.0) -> Callable:
    """Written out: PyTorch's beta and its linear branch above the threshold."""

    def f(z: Array) -> Array:
        bz = beta * z
        return jnp.where(bz > threshold, z, jnp.logaddexp(bz, 0.0) / beta)

    return f


@act()
def mish() -> Callable:
    return jax.nn.mish


@act()
def hardtanh(min_val: float = -1.0, max_val: float = 1.0) -> Callable:
    """Written out: constant outside the open interval, so the grad is 0 at both kinks."""
    return lambda z: jnp.where(z <= min_val, min_val, jnp.where(z >= max_val, max_val, z))


@act()
def softmax() -> Callable:
    return lambda z: jax.nn.softmax(z, axis=1)


@act()
def log_softmax() -> Callable:
    return lambda z: jax.nn.log_softmax(z, axis=1)
