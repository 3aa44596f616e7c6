"""Recovering the dropout masks a learner's training pass used (``layered_decl`` says from
where), so that the twin applies the very same masks.

Sources, in order: the declared ``masks`` (an array whose non-zero entries are the kept
elements; or a dropout layer object: its ``binary_mask`` / ``mask``, else its ``inputs`` and
``output``); ``dropout_seed`` (CS231n: ``np.random.seed(S)`` then ``rand(*shape) < keep`` in each
dropout layer); else NumPy's global generator replayed from its state before the pass, with
CS231n's recipe (``rand < keep``) or nnfs's (``binomial(1, keep)``), the one whose twin loss is
nearest the learner's.

From ``inputs`` and ``output`` the mask is known only where the input is non-zero. Where it is
zero the forward does not depend on it, but backward does (``dx = dout * mask / keep``
reaches the layer below unless that layer's derivative is zero there, as relu's is at a unit
it zeroed): both fillings are tried and, when the gradients differ, the one the learner's
gradients agree with is taken (its backward's mask is the one it used).
"""

from __future__ import annotations

from functools import partial
from types import FunctionType, MethodType
from typing import Any

import numpy as np

from .layered_decl import LayeredDecl
from .paths import LearnerError, get

Array = np.ndarray
RECIPES = ("rand", "binomial")


def read_source(src: Any, root: Any) -> Any:
    """The value a declared source gives: a callable's result, a path's array, the object."""
    if isinstance(src, FunctionType | MethodType | partial):
        return src()
    if isinstance(src, str):
        return get(root, src)
    return src


def declared_mask(src: Any, root: Any, shape: tuple[int, ...]) -> tuple[Array, Array | None]:
    """(kept: bool array, undetermined: bool array or None) from one declared mask source."""
    v = read_source(src, root)
    if not isinstance(v, np.ndarray | list | tuple) and v is not None:
        for attr in ("binary_mask", "mask"):
            if isinstance(getattr(v, attr, None), np.ndarray):
                v = getattr(v, attr)
                break
        else:
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


def seeded(seed: int, keep: float, shape: tuple[int, ...]) -> Array:
    """CS231n's dropout with a seed: ``np.random.seed(seed); np.random.rand(*shape) < keep``."""
    return np.random.RandomState(seed).rand(*shape) < keep


def replay(state: Any, recipe: str, keeps: list[float], shapes: list[tuple[int, ...]]):
    """(forward masks, next draw per layer in backward order) from the generator ``state``."""
    rs = np.random.RandomState()
    rs.set_state(state)
    draw = (
        (lambda k, s: rs.rand(*s) < k)
        if recipe == "rand"
        else (lambda k, s: rs.binomial(1, k, size=s) != 0)
    )
    fwd = [draw(k, s) for k, s in zip(keeps, shapes, strict=True)]
    nxt: list[Array | None] = [None] * len(keeps)
    for j in range(len(keeps) - 1, -1, -1):  # backward visits the last dropout first
        nxt[j] = draw(keeps[j], shapes[j])
    return fwd, nxt


def input_shapes(decl: LayeredDecl, rows: int) -> list[tuple[int, ...]]:
    from nnparity.scratch import build

    net = build(decl.spec)
    return [(rows, *s.in_shape) for s in net.slots if s.layer.has_mask]


def keeps_of(decl: LayeredDecl) -> list[float]:
    return [1.0 - dict(c.params).get("p", 0.5) for c in decl.spec.stack if c.name == "dropout"]
