"""Initializers: ``init(rng, shape, fan_in, fan_out) -> float64 array``.

Scratch stores a weight as (in, out), so for it fan_in = shape[0] and fan_out = shape[1]
(applying PyTorch's rule to an (in, out) array would swap them). A bias of shape (out,) is
drawn with the fans of its layer. Draws come from an explicit ``numpy.random.Generator`` in
float64; the model casts to its dtype, so float32 and float64 specs with one seed start from the
same numbers (rounded).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .errors import SpecError
from .registry import Registry

Array = np.ndarray
Shape = tuple[int, ...]
Init = Callable[[np.random.Generator, Shape, int, int], Array]

initializers: Registry[Init] = Registry("initializer")
register = initializers.register

_SQRT_HALF = math.sqrt(0.5)
_GAINS = {"linear": 1.0, "sigmoid": 1.0, "tanh": 5.0 / 3.0, "relu": math.sqrt(2.0), "selu": 0.75}


def gain(nonlinearity: str, a: float = 0.0) -> float:
    """PyTorch's ``calculate_gain``; for leaky_relu the slope is ``a`` (gain sqrt(2/(1+a^2)))."""
    if nonlinearity == "leaky_relu":
        return math.sqrt(2.0 / (1.0 + a * a))
    try:
        return _GAINS[nonlinearity]
    except KeyError:
        known = ", ".join([*_GAINS, "leaky_relu"])
        raise SpecError(
            f"unknown nonlinearity {nonlinearity!r} for a gain; known: {known}"
        ) from None


def _fan(mode: str, fan_in: int, fan_out: int) -> int:
    if mode == "fan_in":
        return fan_in
    if mode == "fan_out":
        return fan_out
    raise SpecError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")


def _truncated_normal(rng: np.random.Generator, shape: Shape, a: float, b: float) -> Array:
    """Standard normal draws restricted to [a, b] (a < b), by rejection, as PyTorch 2.13: redraw
    from N(0, 1) when [a, b] holds over 30 % of the mass; else propose x ~ U(a, b) (clipped to
    10 around m, the point of [a, b] nearest 0) and accept it with probability e^((m^2 - x^2)/2)."""
    mass = 0.5 * (math.erf(b * _SQRT_HALF) - math.erf(a * _SQRT_HALF))
    if mass > 0.3:
        out = rng.standard_normal(shape)
        bad = (out < a) | (out > b)
        while bad.any():
            out[bad] = rng.standard_normal(int(bad.sum()))
            bad = (out < a) | (out > b)
        return out
    m = min(max(0.0, a), b)
    lo, hi = max(a, m - 10.0), min(b, m + 10.0)
    n, kept = math.prod(shape), []
    while n > 0:
        x = rng.uniform(lo, hi, max(n, 64))
        x = x[rng.uniform(0.0, 1.0, x.size) < np.exp(0.5 * (m - x) * (m + x))][:n]
        kept.append(x)
        n -= x.size
    return np.concatenate(kept).reshape(shape)


@register()
def zeros() -> Init:
    """w = 0."""
    return lambda rng, shape, fan_in, fan_out: np.zeros(shape)


@register()
def constant(value: float = 0.1) -> Init:
    """w = value."""
    return lambda rng, shape, fan_in, fan_out: np.full(shape, value)


@register()
def uniform(a: float = 0.0, b: float = 1.0) -> Init:
    """w ~ U(a, b) (PyTorch's ``uniform_`` defaults). a = b is refused (torch fills with a):
    that spec is ``constant(value=a)``."""
    if not a < b:
        raise SpecError(
            f"uniform needs a < b, got a={a}, b={b}; for one value everywhere: constant(value=...)"
        )
    return lambda rng, shape, fan_in, fan_out: rng.uniform(a, b, shape)


@register()
def normal(mean: float = 0.0, std: float = 1.0) -> Init:
    """w ~ N(mean, std^2) (PyTorch's ``normal_`` defaults)."""
    if not std >= 0:
        raise SpecError(f"normal std must be >= 0, got {std}")
    return lambda rng, shape, fan_in, fan_out: rng.normal(mean, std, shape)


@register()
def trunc_normal(mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0) -> Init:
    """w ~ N(mean, std^2) restricted to [a, b]; a and b are absolute values, not multiples of
    std, and std is not corrected for the truncation (PyTorch's ``trunc_normal_``)."""
    if not std > 0:
        raise SpecError(f"trunc_normal std must be > 0, got {std}")
    if not a < b:
        raise SpecError(f"trunc_normal needs a < b, got a={a}, b={b}")

    def init(rng: np.random.Generator, shape: Shape, fan_in: int, fan_out: int) -> Array:
        return mean + std * _truncated_normal(rng, shape, (a - mean) / std, (b - mean) / std)

    return init


@register()
def xavier_uniform(gain: float = 1.0) -> Init:
    """w ~ U(-r, r), r = gain sqrt(6 / (fan_in + fan_out))."""
    return lambda rng, shape, fan_in, fan_out: (
        rng.uniform(-1, 1, shape) * (gain * math.sqrt(6.0 / (fan_in + fan_out)))
    )


@register()
def xavier_normal(gain: float = 1.0) -> Init:
    """w ~ N(0, s^2), s = gain sqrt(2 / (fan_in + fan_out)) (plain normal, as PyTorch)."""
    return lambda rng, shape, fan_in, fan_out: (
        rng.standard_normal(shape) * (gain * math.sqrt(2.0 / (fan_in + fan_out)))
    )


@register()
def kaiming_uniform(a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu") -> Init:
    """w ~ U(-r, r), r = sqrt(3) gain / sqrt(fan); gain from ``nonlinearity`` (leaky_relu with
    slope a: sqrt(2 / (1 + a^2)), so the default a=0 gives sqrt 2), PyTorch's defaults."""
    g = gain(nonlinearity, a)
    _fan(mode, 1, 1)
    return lambda rng, shape, fan_in, fan_out: (
        rng.uniform(-1, 1, shape) * (math.sqrt(3.0) * g / math.sqrt(_fan(mode, fan_in, fan_out)))
    )


@register()
def kaiming_normal(a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu") -> Init:
    """w ~ N(0, s^2), s = gain / sqrt(fan), PyTorch's defaults (plain normal)."""
    g = gain(nonlinearity, a)
    _fan(mode, 1, 1)
    return lambda rng, shape, fan_in, fan_out: (
        rng.standard_normal(shape) * (g / math.sqrt(_fan(mode, fan_in, fan_out)))
    )


@register()
def lecun_normal() -> Init:
    """w = sqrt(1 / fan_in) t / 0.8796..., t ~ N(0, 1) truncated to [-2, 2]: std exactly
    sqrt(1/fan_in) (JAX's and Flax's default kernel init)."""
    return lambda rng, shape, fan_in, fan_out: (
        _truncated_normal(rng, shape, -2.0, 2.0) * (math.sqrt(1.0 / fan_in) / 0.87962566103423978)
    )


@register()
def orthogonal(gain: float = 1.0) -> Init:
    """w = gain Q from the QR of a standard normal matrix, Q scaled by sign(diag R), so that
    the rows or the columns of w (whichever are fewer) are orthonormal. 1-D: a unit vector."""

    def init(rng: np.random.Generator, shape: Shape, fan_in: int, fan_out: int) -> Array:
        rows = shape[0]
        cols = int(np.prod(shape[1:])) if len(shape) > 1 else 1
        flat = rng.standard_normal((rows, cols))
        if rows < cols:
            flat = flat.T
        q, r = np.linalg.qr(flat)
        q = q * np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return gain * q.reshape(shape)

    return init


@register()
def torch_default() -> Init:
    """What ``nn.Linear`` does: w ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), weight and bias alike
    (``kaiming_uniform_(a=sqrt 5)``)."""
    return lambda rng, shape, fan_in, fan_out: rng.uniform(-1, 1, shape) / math.sqrt(fan_in)
