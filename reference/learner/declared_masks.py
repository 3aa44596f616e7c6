"""Declared dropout masks (``layered_decl``'s ``masks=``): read from their sources, and the
bugs they show in their own values (review s51 F7, F8): a mask of shape (1, units) broadcast
over the batch (every sample drops the same units; was refused as an adapter error), or kept
entries scaled by another factor than 1/keep (nnfs's mask divided by the drop rate, 5 where
1.25 belongs; was a generic layer_mismatch on the loss)."""

from __future__ import annotations

import math
from functools import partial
from types import FunctionType, MethodType
from typing import Any

import numpy as np

from .paths import LearnerError, get
from .result import Finding

Array = np.ndarray


def read_source(src: Any, root: Any) -> Any:
    """The value a declared source gives: a callable's result, a path's array, the object."""
    if isinstance(src, FunctionType | MethodType | partial):
        return src()
    if isinstance(src, str):
        return get(root, src)
    return src


def raw_mask(src: Any, root: Any) -> Any:
    """A declared source's value, a layer object's ``binary_mask`` or ``mask`` when it has one."""
    v = read_source(src, root)
    if not isinstance(v, np.ndarray | list | tuple) and v is not None:
        for attr in ("binary_mask", "mask"):
            if isinstance(getattr(v, attr, None), np.ndarray):
                return getattr(v, attr)
    return v


def declared_mask(src: Any, root: Any, shape: tuple[int, ...]) -> tuple[Array, Array | None]:
    """(kept: bool array, undetermined: bool array or None) from one declared mask source."""
    v = raw_mask(src, root)
    if not isinstance(v, np.ndarray | list | tuple) and v is not None:
        x, out = getattr(v, "inputs", None), getattr(v, "output", None)
        if isinstance(x, np.ndarray) and isinstance(out, np.ndarray):
            return out != 0, x == 0
        raise LearnerError(
            f"the dropout layer {type(v).__name__} has no binary_mask, mask, or inputs and "
            "output arrays: pass masks=[lambda: <the array your forward multiplies by>]"
        )
    if v is None:
        raise LearnerError("a declared dropout mask is None after the pass: keep it in forward")
    a = np.asarray(v)
    if a.shape != shape:
        raise LearnerError(
            f"a declared dropout mask has shape {a.shape}, the layer's input {shape}"
        )
    return a != 0, None


def declared_slip(
    values: list[Any], keeps: list[float], shapes: list[tuple[int, ...]], numbers: list[int],
    k: int,
) -> Finding | None:  # fmt: skip
    """The ``dropout_mask`` finding of the first declared mask (``values``: what each source
    holds after the pass) shared over the batch or scaled by neither 1 nor 1/keep."""
    for v, keep, shape, n in zip(values, keeps, shapes, numbers, strict=True):
        if not isinstance(v, np.ndarray | list | tuple):
            continue  # a layer object's inputs and output: no values of its own
        a = np.asarray(v, dtype=np.float64)
        if a.shape != shape and a.size < math.prod(shape) and _broadcasts(a.shape, shape):
            return Finding(
                "dropout_mask",
                (),
                n,
                k,
                f"dropout layer {n}: your mask has shape {a.shape} against the layer's input "
                f"{shape}, broadcast over the batch: every sample drops the same units",
                "draw one mask element per input element: mask = np.random.rand(*x.shape) < keep",
            )
        kept = np.unique(np.abs(a[a != 0]))
        if kept.size != 1 or a.shape != shape:
            continue
        c, share = float(kept[0]), float(np.mean(a != 0))
        if math.isclose(c, 1, rel_tol=1e-6) or math.isclose(c, 1 / keep, rel_tol=1e-6):
            continue
        if abs(share - 1 / c) <= abs(share - keep):  # 1 / its own share kept: p read the
            continue  # other way, said by the draws (layered_steps)
        why = f" = 1/{1 - keep:g}, divided by the drop rate" if math.isclose(
            c, 1 / (1 - keep), rel_tol=1e-6) else ""  # fmt: skip
        return Finding(
            "dropout_mask",
            (),
            n,
            k,
            f"dropout layer {n}: your mask scales the units it keeps by {c:g}{why}, where "
            f"inverted dropout scales by 1/keep = {1 / keep:g} (keep = {keep:g})",
            "scale the kept units by 1/keep: mask = (np.random.rand(*x.shape) < keep) / keep",
        )
    return None


def _broadcasts(a: tuple[int, ...], shape: tuple[int, ...]) -> bool:
    try:
        return np.broadcast_shapes(a, shape) == shape
    except ValueError:
        return False
