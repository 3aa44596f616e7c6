"""Data for a spec: a seeded synthetic batch, and the checks every entry point runs.

Targets by loss: real-valued (batch, out) for mse, half_sse, sse, huber and l1; 0/1 (batch, 1) for
bce and bce_with_logits; class indices (batch,) int64 for cross_entropy and nll.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import DataError
from .losses import losses
from .spec import Spec

Array = np.ndarray


def target_kind(spec: Spec) -> str:
    """'real', 'probability' or 'class'."""
    return losses[spec.loss.name].build(spec.loss.kwargs).target


def make_data(spec: Spec, seed: int | None = None, batch: int | None = None) -> tuple[Array, Array]:
    """A reproducible batch (X, y) for ``spec``: X ~ N(0, 1); targets as the loss needs."""
    rng = np.random.default_rng([spec.seed if seed is None else seed, 1])
    b = spec.batch if batch is None else batch
    n_out = spec.out_units
    X = rng.standard_normal((b, *spec.in_shape)).astype(spec.dtype)
    kind = target_kind(spec)
    if kind == "class":
        y = rng.integers(0, n_out, b)
    elif kind == "probability":
        y = rng.integers(0, 2, (b, n_out)).astype(spec.dtype)
    elif kind == "sign":
        y = (2 * rng.integers(0, 2, (b, n_out)) - 1).astype(spec.dtype)
    else:
        y = rng.standard_normal((b, n_out)).astype(spec.dtype)
    return X, y


def check_inputs(spec: Spec, X: Any) -> Array:
    """``X`` as a (batch, inputs) array of the spec's dtype, or ``DataError`` naming the fix;
    (batch, C, H, W) for a layered spec on images."""
    X = np.asarray(X)
    if spec.layered:
        shape = spec.in_shape
        if X.shape[1:] != shape:
            one = "; for one sample use X[None]" if X.shape == shape else ""
            raise DataError(
                f"X has shape {X.shape}; the spec takes (batch, {', '.join(map(str, shape))}) "
                f"with one sample per row{one}"
            )
        return _real("X", X, spec.dtype)
    n_in = spec.sizes[0]
    if X.ndim == 1 and n_in == 1:
        raise DataError(f"X has shape {X.shape}; the spec takes (batch, 1): use X.reshape(-1, 1)")
    if X.ndim != 2 or X.shape[1] != n_in:
        hint = ""
        if X.ndim == 2 and X.shape[0] == n_in:
            hint = ": samples as columns? pass X.T (and y.T), one row per sample"
        elif X.ndim > 2 and int(np.prod(X.shape[1:])) == n_in:
            hint = ": use X.reshape(len(X), -1), one row per sample"
        raise DataError(
            f"X has shape {X.shape}; the spec {'-'.join(map(str, spec.sizes))} takes "
            f"(batch, {n_in}) with one row per sample{hint}"
        )
    return _real("X", X, spec.dtype)


def strings_message(y: Array) -> str:
    """What to pass instead of labels that are strings (or other objects)."""
    first = next(iter(np.ravel(y)), "")
    while isinstance(first, np.ndarray) and first.size:  # (an object array of arrays)
        first = first.ravel()[0]
    first = first.item() if isinstance(first, np.generic) else first
    return (
        f"y holds labels that are not numbers (such as {str(first)[:40]!r}): encode them as "
        "class indices 0..K-1 (classes, y_idx = np.unique(y, return_inverse=True)) and pass "
        "y_idx; your functions are handed the same y, so let them take indices (classes[y_idx] "
        "maps them back)"
    )


def check_data(spec: Spec, X: Any, y: Any, kind: str | None = None) -> tuple[Array, Array]:
    """Return (X, y) as arrays of the spec's dtype (class indices as int64), or raise
    ``DataError`` naming what does not fit. ``kind`` is ``target_kind(spec)`` if known."""
    X = check_inputs(spec, X)
    y = np.asarray(y)
    n_out = spec.out_units
    b = X.shape[0]
    kind = kind or target_kind(spec)
    if kind == "class":
        if y.dtype.kind in "US":  # labels as text
            raise DataError(strings_message(y))
        if y.shape != (b,):
            hint = ""
            if y.shape == (b, 1):  # a column of labels: argmax(1) of it would be all zeros
                hint = f"; for a column of class indices use y.ravel() (shape ({b},))"
            elif y.ndim == 2:
                hint = "; for one-hot targets use y.argmax(1)"
            raise DataError(
                f"{spec.loss.name} takes class indices of shape ({b},), got {y.shape}{hint}"
            )
        if not np.issubdtype(y.dtype, np.integer):
            whole = np.issubdtype(y.dtype, np.floating) and np.isfinite(y).all()
            if whole and (np.mod(y, 1) == 0).all():
                y = y.astype(np.int64)
            else:
                raise DataError(f"class indices must be whole numbers, got dtype {y.dtype}")
        if y.size and (y.min() < 0 or y.max() >= n_out):
            raise DataError(f"class indices must lie in [0, {n_out - 1}], got {y.min()}..{y.max()}")
        return X, y.astype(np.int64, copy=False)
    if y.shape != (b, n_out):
        hint = f"; use y.reshape({b}, {n_out})" if y.size == b * n_out else ""
        if y.shape == (n_out, b) and n_out > 1:  # one column per sample: transpose, never reshape
            hint = "; use y.T (one row per sample)"
        elif y.shape == (b,) and n_out > 1 and _labels(y, n_out):  # class labels, a real loss
            hint = (
                f"; these look like class labels: pass one-hot rows, np.eye({n_out})[y] (code "
                "that takes labels gets them back as y.argmax(1)), or use cross_entropy"
            )
        raise DataError(f"y has shape {y.shape}; {spec.loss.name} takes ({b}, {n_out}){hint}")
    y = _real("y", y, spec.dtype, allow_bool=True)
    if kind == "probability" and ((y < 0) | (y > 1)).any():
        pm = bool(np.isin(y, (-1.0, 1.0)).all())
        raise DataError(
            f"{spec.loss.name} targets must lie in [0, 1], got {y.min():g}..{y.max():g}"
            + ("; for -1/+1 labels use (y + 1) / 2, or a tanh output with mse" if pm else "")
        )
    if kind == "sign" and not np.isin(y, (-1.0, 1.0)).all():
        zero_one = bool(np.isin(y, (0.0, 1.0)).all())
        raise DataError(
            f"{spec.loss.name} takes -1/+1 labels, got values {y.min():g}..{y.max():g}"
            + (
                "; for 0/1 labels use 2 * y - 1 (a 0 label has no margin to meet)"
                if zero_one
                else ""
            )
        )
    return X, y


def _labels(y: Array, n_out: int) -> bool:
    """Whether ``y`` holds whole numbers in [0, n_out): class labels."""
    if y.dtype.kind not in "iuf" or not y.size:
        return False
    with np.errstate(invalid="ignore"):
        return bool(np.isfinite(y).all() and (y == np.round(y)).all() and y.min() >= 0
                    and y.max() < n_out)  # fmt: skip


def _real(name: str, a: Array, dtype: str, allow_bool: bool = False) -> Array:
    """``a`` cast to ``dtype``; DataError if it is not real, not finite, or too large for dtype."""
    out = a
    if a.dtype != dtype:
        real = np.issubdtype(a.dtype, np.number) and not np.issubdtype(a.dtype, np.complexfloating)
        if not (real or (allow_bool and a.dtype == np.bool_)):
            raise DataError(f"{name} must hold real numbers, got dtype {a.dtype}")
        with np.errstate(over="ignore", invalid="ignore"):
            out = a.astype(dtype)
    if not np.isfinite(out).all():
        at = tuple(int(i) for i in np.argwhere(~np.isfinite(out))[0])
        if out is a or not np.isfinite(a[at]):
            raise DataError(f"{name} holds a non-finite value {a[at]} at {at}: clean the data")
        raise DataError(
            f"{name} holds {a[at]} at {at}, too large for {dtype}: rescale the data or use float64"
        )
    return out
