"""The data a check runs on: X as (batch, inputs), and the targets twice, as the twin takes
them and as the learner's own code gets them (the shape it gave)."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnparity.scratch import Spec, check_data, target_kind
from nnparity.scratch.data import strings_message
from nnparity.scratch.errors import DataError

Array = np.ndarray


def learner_data(spec: Spec, X: Any, y: Any) -> tuple[Array, Array, tuple[Array, Array]]:
    """(X, y for the twin, (X, y) for the learner): a real target given as a vector (N,) for
    one output is (N, 1) for the twin and stays (N,) for the learner's own code; class indices
    given as a column (N, 1) are (N,) for the twin and stay a column for the learner; one-hot
    targets (N, K) are their argmax for the twin and stay one-hot for the learner; float data
    stay in their own dtype for the learner (``own_floats``)."""
    X_in, y_in = X, y
    X, y, y_own = _learner_data(spec, X, y)
    return X, y, (own_floats(X_in, X), own_floats(y_in, y_own))


def _learner_data(spec: Spec, X: Any, y: Any) -> tuple[Array, Array, Array]:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X[None, :] if spec.sizes[0] == X.size else X[:, None]
    kind = target_kind(spec)
    if y is None:
        y = (
            np.zeros(len(X), dtype=np.int64)
            if kind == "class"
            else np.zeros((len(X), spec.sizes[-1]))
        )
    y = np.asarray(y)
    if kind == "class" and y.dtype.kind in "US":  # labels as text
        raise DataError(strings_message(y))
    shape = y.shape
    if kind != "class" and y.ndim <= 1 and spec.sizes[-1] == 1:
        y = y.reshape(-1, 1)
    if kind == "class" and y.shape == (len(X), 1):
        y = y.reshape(-1)
    if kind == "class" and one_hot(y, len(X), spec.sizes[-1]):  # the learner keeps its own
        own = np.array(y, copy=True)
        return (*check_data(spec, X, y.argmax(1)), own)
    eps = _smoothing(y, len(X), spec.sizes[-1]) if kind == "class" else None
    if eps is not None:  # label-smoothed one-hot rows: PyTorch's label_smoothing on argmax
        declared = float(spec.loss.kwargs.get("label_smoothing", 0.0))
        if abs(eps - declared) > 1e-6 * max(eps, declared):
            raise DataError(
                f"y holds label-smoothed one-hot rows (eps = {eps:.6g}: 1 - eps + eps/K at each "
                f"row's class, eps/K elsewhere): declare loss='cross_entropy(label_smoothing="
                f"{eps:.6g})', and the twin takes y.argmax(1) with PyTorch's smoothing while "
                "your code keeps y as it is"
            )
        return (*check_data(spec, X, y.argmax(1)), np.array(y, copy=True))
    X, y = check_data(spec, X, y)
    return X, y, y.reshape(shape) if y.size == int(np.prod(shape)) else y


def own_floats(given: Any, cast: Array) -> Array:
    """The learner's own data as its program runs on it: ``given`` where it is a float array of
    another dtype than ``cast`` (float16 data stays float16, float64 data beside float32 weights
    stays float64), in ``cast``'s shape; else ``cast``. The twin takes ``cast``."""
    a = np.asarray(given) if given is not None else cast
    if a.dtype.kind != "f" or a.dtype == cast.dtype or a.size != cast.size:
        return cast
    return np.array(a, copy=True).reshape(cast.shape)


def _smoothing(y: Array, n: int, k: int) -> float | None:
    """eps where every row of ``y`` is (1 - eps) one-hot + eps / k with 0 < eps < 1, else None."""
    if y.shape != (n, k) or k < 2 or y.dtype.kind != "f" or not np.isfinite(y).all():
        return None
    low = float(y.min())
    eps = low * k
    if not 0 < eps < 1:
        return None
    want = np.full_like(y, low, dtype=np.float64)
    want[np.arange(n), y.argmax(1)] = 1 - eps + low
    tol = 8 * np.finfo(y.dtype).eps
    return eps if bool(np.allclose(y, want, rtol=tol, atol=tol)) else None


def one_hot(y: Array, n: int, k: int) -> bool:
    """Rows of 0/1 with a single 1, one per class: one-hot targets."""
    return (
        y.shape == (n, k)
        and k > 1
        and bool(np.isin(y, (0, 1)).all())
        and bool((np.asarray(y).sum(1) == 1).all())
    )
