"""Losses of the network output ``a`` (batch, units) against a target.

Each variant is a factory returning ``Loss(value, grad, target)``: ``value(a, y) -> float``,
``grad(a, y) -> dL/da`` (same shape as ``a``), and ``target`` in {"real", "probability",
"class", "sign"} saying what ``y`` holds (sign: -1/+1 labels). ``reduction='mean'`` follows
PyTorch: mse, huber, l1 and hinge average over all elements (B*D), bce over all elements,
cross_entropy and nll over the batch, multi_margin over B*K. ``'sum'`` sums; ``'batch'`` sums
each sample's outputs and averages over the B samples (Nielsen's cross-entropy cost; for
cross_entropy, nll, half_sse and sse it is their 'mean').
Every loss also says which output activation it expects (``expects``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from .errors import SpecError
from .fused import attach, attached
from .registry import Registry
from .rows import row_max, row_sum

Array = np.ndarray


class Loss(NamedTuple):
    value: Callable[[Array, Array], float]
    grad: Callable[[Array, Array], Array]
    target: str  # "real" | "probability" | "class"
    expects: str | None  # the output activation the loss is defined on, None for any
    min_units: int = 1

    def value_and_grad(self, a: Array, y: Array) -> tuple[float, Array]:
        """(L, dL/da), in one pass where ``value`` and ``grad`` are the very pair a one-pass
        form was made with (``_squared``'s; ``fused``), else by the two."""
        both = attached("fused", self.value, self.grad)
        return both(a, y) if both else (self.value(a, y), self.grad(a, y))


losses: Registry[Loss] = Registry("loss")
register = losses.register


def _divisor(reduction: str, n: int, rows: int = 1) -> float:
    """What the summed loss is divided by: ``n`` (the elements it averages) for 'mean', the
    batch's ``rows`` for 'batch' (summed over each sample's outputs, averaged over samples),
    1 for 'sum'."""
    if reduction == "mean":
        return float(n)
    if reduction == "batch":
        return float(rows)
    if reduction == "sum":
        return 1.0
    raise SpecError(f"reduction must be 'mean', 'batch' or 'sum', got {reduction!r}")


# PyTorch's binary_cross_entropy_backward clamps with a C++ ``float`` 1e-12, so in float64 too
# the clamp is float32(1e-12) = 9.99999996e-13 and 1/EPSILON = 1.000000004e12.
_BCE_EPSILON = float(np.float32(1e-12))


def _scalar(x: Array) -> float:
    return float(x)


def _squared(reduction: str, per_element: bool, half: bool) -> Loss:
    """Squared error S = sum (a - y)^2; L = S / N (S / 2N when ``half``), dL/da = (1 or 2)
    (a - y) / N, N by the reduction over B*D elements (``per_element``) or B rows. ``both``
    makes one residual and scales it in place: ``value``'s and ``grad``'s bits, one array less."""
    _divisor(reduction, 1)
    scale = 1.0 if half else 2.0

    def n(a: Array) -> float:
        return _divisor(reduction, a.size if per_element else a.shape[0], a.shape[0])

    def total(d: Array, a: Array) -> float:
        s = _scalar(np.vdot(d, d))
        return (0.5 * s if half else s) / n(a)

    def value(a: Array, y: Array) -> float:
        return total(a - y, a)

    def grad(a: Array, y: Array) -> Array:
        return (a - y) * (scale / n(a))

    def both(a: Array, y: Array) -> tuple[float, Array]:
        d = a - y
        v = total(d, a)
        d *= scale / n(a)
        return v, d

    attach("fused", both, value, grad)
    return Loss(value, grad, "real", None)


@register()
def mse(reduction: str = "mean") -> Loss:
    """L = sum (a - y)^2 / N, N = B*D for 'mean' (PyTorch's MSELoss), 1 for 'sum';
    dL/da = 2 (a - y) / N."""
    return _squared(reduction, per_element=True, half=False)


@register()
def half_sse(reduction: str = "mean") -> Loss:
    """The textbook L = (1/B) sum_b 1/2 ||a_b - y_b||^2 ('mean'; 'sum' drops the 1/B);
    dL/da = (a - y) / B. Equals PyTorch's MSELoss times D/2."""
    return _squared(reduction, per_element=False, half=True)


@register()
def sse(reduction: str = "mean") -> Loss:
    """L = (1/B) sum_b ||a_b - y_b||^2 ('mean', the squared error summed over the outputs and
    averaged over the samples; 'sum' drops the 1/B); dL/da = 2 (a - y) / B. Twice half_sse."""
    return _squared(reduction, per_element=False, half=False)


@register()
def huber(delta: float = 1.0, reduction: str = "mean") -> Loss:
    """L = mean of 1/2 d^2 where |d| < delta, else delta (|d| - delta/2), d = a - y, over all
    B*D elements (PyTorch's HuberLoss); dL/da = clip(d, -delta, delta) / N."""
    if not delta > 0:
        raise SpecError(f"huber delta must be > 0, got {delta}")
    _divisor(reduction, 1)

    def value(a: Array, y: Array) -> float:
        d = np.abs(a - y)
        per = np.where(d < delta, 0.5 * d * d, delta * (d - 0.5 * delta))
        return _scalar(per.sum()) / _divisor(reduction, a.size, a.shape[0])

    def grad(a: Array, y: Array) -> Array:
        return np.clip(a - y, -delta, delta) * (1.0 / _divisor(reduction, a.size, a.shape[0]))

    return Loss(value, grad, "real", None)


@register()
def l1(reduction: str = "mean") -> Loss:
    """L = mean of |a - y| over all B*D elements (PyTorch's L1Loss, mean absolute error);
    dL/da = sign(a - y) / N, 0 where a = y (PyTorch's and NumPy's sign at 0)."""
    _divisor(reduction, 1)

    def value(a: Array, y: Array) -> float:
        return _scalar(np.abs(a - y).sum()) / _divisor(reduction, a.size, a.shape[0])

    def grad(a: Array, y: Array) -> Array:
        return np.sign(a - y) * (1.0 / _divisor(reduction, a.size, a.shape[0]))

    return Loss(value, grad, "real", None)


@register()
def hinge(margin: float = 1.0, reduction: str = "mean") -> Loss:
    """Binary hinge on scores a (B, D) and labels y in {-1, +1}: L = mean of
    max(0, margin - y a) over all B*D elements (micrograd's and the SVM's max-margin loss);
    dL/da = -y / N where margin - y a > 0, else 0 (0 at the kink, as relu's)."""
    if not margin >= 0:
        raise SpecError(f"hinge margin must be >= 0, got {margin}")
    _divisor(reduction, 1)

    def value(a: Array, y: Array) -> float:
        per = np.maximum(margin - y * a, 0.0)
        return _scalar(per.sum()) / _divisor(reduction, a.size, a.shape[0])

    def grad(a: Array, y: Array) -> Array:
        on = margin - y * a > 0
        return np.where(on, -y, 0.0).astype(a.dtype) * (
            1.0 / _divisor(reduction, a.size, a.shape[0])
        )

    return Loss(value, grad, "sign", None)


@register()
def multi_margin(margin: float = 1.0, reduction: str = "mean") -> Loss:
    """Multiclass hinge (SVM) on scores a (B, K) and class indices y (B,):
    L_b = sum_{k != y_b} max(0, margin - a[b, y_b] + a[b, k]), averaged over B*K for 'mean'
    (PyTorch's MultiMarginLoss), over B for 'batch' (CS231n's svm_loss), or summed ('sum':
    the plain total, where PyTorch's reduction='sum' keeps each sample's 1/K). dL/da[b, k]
    = [m_bk > 0] for k != y_b and -sum_k [m_bk > 0] at y_b, over the same divisor."""
    if not margin >= 0:
        raise SpecError(f"multi_margin margin must be >= 0, got {margin}")
    _divisor(reduction, 1)

    def margins(a: Array, y: Array) -> Array:
        rows = np.arange(a.shape[0])
        m = margin - a[rows, y][:, None] + a
        m[rows, y] = 0.0
        return m

    def value(a: Array, y: Array) -> float:
        total = np.maximum(margins(a, y), 0.0).sum()
        return _scalar(total) / _divisor(reduction, a.size, a.shape[0])

    def grad(a: Array, y: Array) -> Array:
        g = (margins(a, y) > 0).astype(a.dtype)
        g[np.arange(a.shape[0]), y] = -g.sum(1)
        return g * (1.0 / _divisor(reduction, a.size, a.shape[0]))

    return Loss(value, grad, "class", None, 2)


@register()
def bce(reduction: str = "mean") -> Loss:
    """Binary cross-entropy on probabilities p (after a sigmoid), PyTorch's clamping:
    L = -[y max(log p, -100) + (1 - y) max(log(1 - p), -100)] averaged over all elements;
    dL/dp = (p - y) / max(p (1 - p), EPSILON) / N, EPSILON = float32(1e-12) as PyTorch."""
    _divisor(reduction, 1)

    def value(p: Array, y: Array) -> float:
        with np.errstate(divide="ignore"):
            lp = np.maximum(np.log(p), -100.0)
            lq = np.maximum(np.log1p(-p), -100.0)
        return _scalar(-(y * lp + (1.0 - y) * lq).sum()) / _divisor(reduction, p.size, p.shape[0])

    def grad(p: Array, y: Array) -> Array:
        return (
            (p - y)
            / np.maximum(p * (1.0 - p), _BCE_EPSILON)
            * (1.0 / _divisor(reduction, p.size, p.shape[0]))
        )

    return Loss(value, grad, "probability", "sigmoid")


@register()
def bce_with_logits(reduction: str = "mean") -> Loss:
    """Binary cross-entropy on logits z, stable: L = max(z, 0) - z y + log(1 + e^-|z|),
    averaged over all elements; dL/dz = (sigmoid(z) - y) / N."""
    _divisor(reduction, 1)

    def value(z: Array, y: Array) -> float:
        per = np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))
        return _scalar(per.sum()) / _divisor(reduction, z.size, z.shape[0])

    def grad(z: Array, y: Array) -> Array:
        e = np.exp(-np.abs(z))
        s = np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
        return (s - y) * (1.0 / _divisor(reduction, z.size, z.shape[0]))

    return Loss(value, grad, "probability", "identity")


def _onehot(y: Array, k: int, dtype: np.dtype) -> Array:
    q = np.zeros((y.shape[0], k), dtype=dtype)
    q[np.arange(y.shape[0]), y] = 1
    return q


@register()
def cross_entropy(label_smoothing: float = 0.0, reduction: str = "mean") -> Loss:
    """Softmax cross-entropy on logits z (B, K) and class indices y (B,):
    L = -(1/B) sum_b sum_k q_bk log_softmax(z)_bk with q = (1 - eps) onehot(y) + eps/K;
    dL/dz = (softmax(z) - q) / B. PyTorch's CrossEntropyLoss."""
    if not 0.0 <= label_smoothing <= 1.0:
        raise SpecError(f"cross_entropy label_smoothing must lie in [0, 1], got {label_smoothing}")
    _divisor(reduction, 1)

    def target(z: Array, y: Array) -> Array:
        k = z.shape[1]
        q = _onehot(y, k, z.dtype)
        return q * (1.0 - label_smoothing) + label_smoothing / k if label_smoothing else q

    def value(z: Array, y: Array) -> float:
        s = z - row_max(z)
        logp = s - np.log(row_sum(np.exp(s)))
        if label_smoothing:
            total = (target(z, y) * logp).sum()
        else:  # the targets' own log-probabilities: a -inf elsewhere is not 0 * -inf = NaN
            total = logp[np.arange(len(y)), y].sum()
        return _scalar(-total) / _divisor(reduction, z.shape[0], z.shape[0])

    def grad(z: Array, y: Array) -> Array:
        e = np.exp(z - row_max(z))
        p = e / row_sum(e)
        return (p - target(z, y)) * (1.0 / _divisor(reduction, z.shape[0], z.shape[0]))

    return Loss(value, grad, "class", "identity", 2)


@register()
def nll(reduction: str = "mean") -> Loss:
    """Negative log-likelihood of log-probabilities l (B, K) (after log_softmax):
    L = -(1/B) sum_b l[b, y_b]; dL/dl = -onehot(y) / B. PyTorch's NLLLoss."""
    _divisor(reduction, 1)

    def value(logp: Array, y: Array) -> float:
        picked = logp[np.arange(logp.shape[0]), y]
        return _scalar(-picked.sum()) / _divisor(reduction, logp.shape[0], logp.shape[0])

    def grad(logp: Array, y: Array) -> Array:
        return _onehot(y, logp.shape[1], logp.dtype) * (
            -1.0 / _divisor(reduction, logp.shape[0], logp.shape[0])
        )

    return Loss(value, grad, "class", "log_softmax", 2)
