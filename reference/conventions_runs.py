"""The measurements conventions probes make: signature defaults, values, gradients, runs, draws."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any

import numpy as np


def default(fn: Any, name: str) -> Any:
    """The default of argument ``name`` in ``fn``'s signature, as the library declares it."""
    value = inspect.signature(fn).parameters[name].default
    if value is inspect.Parameter.empty:
        return "required"
    return value


def _t(x: Any) -> Any:
    import torch

    return torch.tensor(np.asarray(x, dtype=np.float64), requires_grad=True)


def torch_value(f: Callable, x: Any) -> np.ndarray:
    return f(_t(x)).detach().numpy()


def torch_grad(f: Callable, x: Any) -> np.ndarray:
    """d/dx of sum f(x) by torch autograd: the derivative each element gets."""
    xt = _t(x)
    f(xt).sum().backward()
    return xt.grad.numpy()


def jax_value(f: Callable, x: Any) -> np.ndarray:
    import jax.numpy as jnp

    return np.asarray(f(jnp.asarray(np.asarray(x, dtype=np.float64))))


def jax_grad(f: Callable, x: Any) -> np.ndarray:
    import jax
    import jax.numpy as jnp

    return np.asarray(jax.grad(lambda v: f(v).sum())(jnp.asarray(np.asarray(x, np.float64))))


# a fixed gradient sequence and start point for the optimizer probes
_RNG_SEED, _STEPS, _SIZE = 0, 50, 8


def _grads() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(_RNG_SEED)
    return rng.standard_normal(_SIZE), rng.standard_normal((_STEPS, _SIZE))


def torch_run(make: Callable[[list], Any]) -> np.ndarray:
    """The parameters after 50 steps of ``make([p])`` on the fixed gradient sequence."""
    import torch

    p0, gs = _grads()
    p = torch.tensor(p0, requires_grad=True)
    opt = make([p])
    for g in gs:
        p.grad = torch.tensor(g)
        opt.step()
    return p.detach().numpy().copy()


def optax_run(tx: Any) -> np.ndarray:
    """The parameters after 50 steps of the optax transformation ``tx`` on the same sequence."""
    import jax.numpy as jnp
    import optax

    p0, gs = _grads()
    p = jnp.asarray(p0)
    state = tx.init(p)
    for g in gs:
        updates, state = tx.update(jnp.asarray(g), state, p)
        p = optax.apply_updates(p, updates)
    return np.asarray(p)


_DRAW = (1000, 250)  # (fan_in, fan_out): 250,000 weights per draw


def torch_linear_stats(part: str) -> np.ndarray:
    """(std, max |w|) of ``nn.Linear(fan_in, fan_out)``'s default weight or bias."""
    import torch

    torch.manual_seed(0)
    lin = torch.nn.Linear(*_DRAW, dtype=torch.float64)
    w = (lin.weight if part == "weight" else lin.bias).detach().numpy()
    return np.array([w.std(), np.abs(w).max()])


def jax_dense_stats(part: str, init: Callable | None = None) -> np.ndarray:
    """(std, max |w|) of the default kernel (in, out) or bias of a JAX dense layer: flax's
    ``nn.Dense`` when flax is installed, else ``jax.example_libraries.stax.Dense``; ``init``
    replaces the default."""
    import jax
    import jax.numpy as jnp

    key = jax.random.PRNGKey(0)
    shape = _DRAW if part == "weight" else (_DRAW[1],)
    if init is None:
        init = _dense_default(part)
    w = np.asarray(init(key, shape, jnp.float64))
    return np.array([w.std(), np.abs(w).max()])


def dense_name() -> str:
    try:
        import flax.linen  # noqa: F401

        return "flax.linen.Dense"
    except ImportError:
        return "jax stax.Dense (flax not installed)"


def _dense_default(part: str) -> Callable:
    arg = "kernel_init" if part == "weight" else "bias_init"
    try:
        import flax.linen as fnn

        return fnn.Dense.__dataclass_fields__[arg].default
    except ImportError:
        from jax.example_libraries import stax

        return default(stax.Dense, "W_init" if part == "weight" else "b_init")


def _torch_uniform_bound() -> Callable:
    """JAX's equivalent of torch's Linear bias default: U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    import jax

    bound = 1.0 / math.sqrt(_DRAW[0])
    return lambda key, shape, dtype: jax.random.uniform(key, shape, dtype, -bound, bound)
