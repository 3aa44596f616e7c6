"""Activations, batch-major: ``z`` has shape (batch, units).

Each variant is a factory returning ``Activation(f, vjp)``: ``a = f(z)`` and
``dz = vjp(z, a, da)``, the vector-Jacobian product (for elementwise functions
``da * f'(z)``). Gradients at kinks follow PyTorch (CONVENTIONS.md section 1): relu'(0) = 0,
leaky_relu'(0) = slope, elu'(0) = alpha, hardtanh' = 1 only on the open interval.
Hyperparameters are Python floats, so float32 stays float32.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from .blocks import blockwise
from .fused import attach, attached
from .registry import Registry
from .rows import row_max, row_sum
from .special import erf as _erf

Array = np.ndarray


def zero_where(zero: Array, g: Array) -> Array:
    """``np.where(zero, 0, g)`` bit for bit (+0 where ``zero``, g's own bits elsewhere, NaN
    included), without np.where's branch per element, which mispredicts on random masks and
    costs several times the arithmetic: the kept values' bits are ANDed with all-ones."""
    g = np.asarray(g)
    bits = np.dtype(f"u{g.dtype.itemsize}")
    if np.shape(zero) != g.shape:
        zero = np.broadcast_to(zero, np.broadcast_shapes(np.shape(zero), g.shape))
    keep = np.subtract(zero, bits.type(1), dtype=bits)  # True -> 0, False -> all ones
    keep &= g.view(bits)
    return keep.view(g.dtype)


class Activation(NamedTuple):
    f: Callable[[Array], Array]
    vjp: Callable[[Array, Array, Array], Array]


def in_place(f: Callable, vjp: Callable, f_into: Callable, vjp_into: Callable) -> Activation:
    """An activation whose derivative is a function of its output (tanh): besides ``f`` and
    ``vjp``, ``f_into(z)`` writes a into z's buffer and ``vjp_into(a, g)`` writes dz into g's,
    the same bits. A network uses them only on buffers it made itself, and only while ``f`` and
    ``vjp`` are the very pair they were made with (``fused``)."""
    attach("into", (f_into, vjp_into), f, vjp)
    return Activation(f, vjp)


def into(act: Activation) -> tuple[Callable | None, Callable | None]:
    """(f's in-place form, vjp's in-place form), or (None, None)."""
    return attached("into", act.f, act.vjp) or (None, None)


activations: Registry[Activation] = Registry("activation")
register = activations.register

SELU_SCALE = 1.0507009873554804934193349852946
SELU_ALPHA = 1.6732632423543772848170429916717
_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def _sigmoid(z: Array) -> Array:
    """1 / (1 + e^-z) without overflow: e^-|z| is never larger than 1."""
    e = np.exp(-np.abs(z))
    r = 1.0 / (1.0 + e)
    return np.where(z >= 0, r, e * r)


@register("elementwise")
def identity() -> Activation:
    """a = z."""
    return Activation(lambda z: z, lambda z, a, g: g)


@register("elementwise")
def sigmoid() -> Activation:
    """a = 1 / (1 + e^-z); a' = a (1 - a), from the output as PyTorch does."""
    return Activation(_sigmoid, lambda z, a, g: g * a * (1.0 - a))


def _simd_tanh64() -> bool:
    """Whether NumPy's float64 tanh runs a vectorised loop here: on x86 with AVX512_SKX (its
    SVML loop, 4x the formula below); elsewhere it may be scalar libm (AVX2 CPUs). Read from
    the CPU's features, never timed, so every process on a machine takes the same bits."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:  # pragma: no cover - NumPy < 2 keeps it in numpy.core
        return False
    return bool(features.get("AVX512_SKX"))


_SIMD_TANH64 = _simd_tanh64()


def _tanh(z: Array, out: Array | None = None) -> Array:
    """tanh z: NumPy's, but in float64 without its vectorised loop (``_SIMD_TANH64``)."""
    if z.dtype != np.float64 or _SIMD_TANH64:
        return np.tanh(z, out=out)
    return _tanh_expm1(z, out)


def _tanh_expm1(z: Array, out: Array | None = None) -> Array:
    """tanh z of float64 ``z`` as sign(z) (-m / (2 + m)) with m = expm1(-2|z|): 1.7x NumPy's
    scalar tanh on AVX2 CPUs, within 4e-16 of it relative over |z| in [1e-300, 1e3] (expm1,
    not 1 - exp: that loses every digit as z nears 0)."""
    m = np.abs(z)
    m *= -2.0
    np.expm1(m, out=m)
    d = m + 2.0
    np.negative(m, out=m)
    m /= d
    return np.copysign(m, z, out=out)


@register("elementwise")
def tanh() -> Activation:
    """a = tanh z; a' = 1 - a^2."""

    def f(z: Array) -> Array:
        return _tanh(z)

    def vjp(z: Array, a: Array, g: Array) -> Array:
        d = a * a  # g (1 - a^2) in one buffer: the same operations and bits
        np.subtract(1.0, d, out=d)
        d *= g
        return d

    def kernel(a: Array, g: Array) -> None:
        d = a * a
        np.subtract(1.0, d, out=d)
        np.multiply(d, g, out=g)

    def vjp_into(a: Array, g: Array) -> Array:
        blockwise(kernel, a, g)
        return g

    return in_place(f, vjp, lambda z: _tanh(z, out=z), vjp_into)


@register("elementwise")
def relu() -> Activation:
    """a = max(z, 0); a' = 0 if z <= 0 else 1 (0 at the kink; NaN passes g on, as PyTorch)."""
    return Activation(lambda z: np.maximum(z, 0), lambda z, a, g: zero_where(z <= 0, g))


@register("elementwise")
def leaky_relu(slope: float = 0.01) -> Activation:
    """a = z if z > 0 else slope z; a' = 1 if z > 0 else slope (slope at 0, as PyTorch)."""
    return Activation(
        lambda z: np.where(z > 0, z, slope * z), lambda z, a, g: np.where(z > 0, g, slope * g)
    )


def _elu(alpha: float, scale: float) -> Activation:
    def f(z: Array) -> Array:
        return scale * np.where(z > 0, z, alpha * np.expm1(np.minimum(z, 0)))

    def vjp(z: Array, a: Array, g: Array) -> Array:
        # z <= 0 picks the negative branch, so a NaN z passes g on (PyTorch's elu_backward)
        return np.where(z <= 0, (scale * alpha) * g * np.exp(np.minimum(z, 0)), scale * g)

    return Activation(f, vjp)


@register("elementwise")
def elu(alpha: float = 1.0) -> Activation:
    """a = z if z > 0 else alpha (e^z - 1); a' = 1 if z > 0 else alpha e^z (alpha at 0)."""
    return _elu(alpha, 1.0)


@register("elementwise")
def selu() -> Activation:
    """a = scale * elu(z, alpha) with PyTorch's constants scale = 1.0507..., alpha = 1.6732...."""
    return _elu(SELU_ALPHA, SELU_SCALE)


@register("elementwise")
def gelu(approximate: str = "none") -> Activation:
    """approximate='none': a = z Phi(z) = z/2 (1 + erf(z/sqrt 2)); a' = Phi(z) + z phi(z).
    approximate='tanh': a = z/2 (1 + tanh(u)), u = sqrt(2/pi) (z + 0.044715 z^3).
    PyTorch's default is 'none' (JAX's is the tanh form)."""
    if approximate == "none":

        def f(z: Array) -> Array:
            return (0.5 * z * (1.0 + _erf(z * _SQRT_HALF))).astype(z.dtype, copy=False)

        def vjp(z: Array, a: Array, g: Array) -> Array:
            cdf = 0.5 * (1.0 + _erf(z * _SQRT_HALF))
            pdf = _INV_SQRT_2PI * np.exp(-0.5 * z * z)
            return (g * (cdf + z * pdf)).astype(z.dtype, copy=False)

        return Activation(f, vjp)
    if approximate == "tanh":

        def f_t(z: Array) -> Array:
            return 0.5 * z * (1.0 + np.tanh(_SQRT_2_OVER_PI * (z + 0.044715 * z**3)))

        def vjp_t(z: Array, a: Array, g: Array) -> Array:
            t = np.tanh(_SQRT_2_OVER_PI * (z + 0.044715 * z**3))
            du = _SQRT_2_OVER_PI * (1.0 + 3 * 0.044715 * z * z)
            return g * (0.5 * (1.0 + t) + 0.5 * z * (1.0 - t * t) * du)

        return Activation(f_t, vjp_t)
    from .errors import SpecError

    raise SpecError(f"gelu approximate must be 'none' or 'tanh', got {approximate!r}")


@register("elementwise")
def silu() -> Activation:
    """a = z sigmoid(z); a' = s (1 + z (1 - s)) with s = sigmoid(z)."""

    def vjp(z: Array, a: Array, g: Array) -> Array:
        s = _sigmoid(z)
        return g * (s * (1.0 + z * (1.0 - s)))

    return Activation(lambda z: z * _sigmoid(z), vjp)


@register("elementwise")
def softplus(beta: float = 1.0, threshold: float = 20.0) -> Activation:
    """a = log(1 + e^(beta z)) / beta, and a = z where beta z > threshold (PyTorch);
    a' = sigmoid(beta z), and 1 above the threshold."""
    if not beta > 0:
        from .errors import SpecError

        raise SpecError(f"softplus needs beta > 0 (it divides by beta), got {beta}")

    def f(z: Array) -> Array:
        bz = beta * z
        return np.where(bz > threshold, z, np.logaddexp(0, bz) / beta)

    def vjp(z: Array, a: Array, g: Array) -> Array:
        bz = beta * z
        return np.where(bz > threshold, g, g * _sigmoid(bz))

    return Activation(f, vjp)


@register("elementwise")
def mish() -> Activation:
    """a = z tanh(softplus(z)); a' = t + z sigmoid(z) (1 - t^2) with t = tanh(softplus(z))."""

    def f(z: Array) -> Array:
        return z * np.tanh(np.logaddexp(0, z))

    def vjp(z: Array, a: Array, g: Array) -> Array:
        t = np.tanh(np.logaddexp(0, z))
        return g * (t + z * _sigmoid(z) * (1.0 - t * t))

    return Activation(f, vjp)


@register("elementwise")
def hardtanh(min_val: float = -1.0, max_val: float = 1.0) -> Activation:
    """a = clip(z, min_val, max_val); a' = 0 where z <= min_val or z >= max_val, else 1 (0 at
    both kinks; NaN passes g on, as PyTorch)."""
    if not min_val < max_val:
        from .errors import SpecError

        raise SpecError(f"hardtanh needs min_val < max_val, got {min_val} and {max_val}")
    return Activation(
        lambda z: np.clip(z, min_val, max_val),
        lambda z, a, g: np.where((z <= min_val) | (z >= max_val), 0, g),
    )


@register("output")
def softmax() -> Activation:
    """a_i = e^(z_i - m) / sum_j e^(z_j - m) over units (axis 1), m = max_j z_j;
    vjp: dz = a * (g - sum_j g_j a_j) (the full Jacobian, not only its diagonal)."""

    def f(z: Array) -> Array:
        e = np.exp(z - row_max(z))
        return e / row_sum(e)

    return Activation(f, lambda z, a, g: a * (g - row_sum(g * a)))


@register("output")
def log_softmax() -> Activation:
    """a_i = z_i - m - log sum_j e^(z_j - m) over units (axis 1);
    vjp: dz = g - softmax(z) * sum_j g_j (input to ``nll``)."""

    def f(z: Array) -> Array:
        s = z - row_max(z)
        return s - np.log(row_sum(np.exp(s)))

    return Activation(f, lambda z, a, g: g - np.exp(a) * row_sum(g))
