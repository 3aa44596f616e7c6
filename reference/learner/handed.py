"""Checks on what a learner hands over before any comparison: weights that are finite before
the first step, and a loss returned as a number beside the gradients."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .adapters import Adapter
from .paths import LearnerError


def nonfinite_init(adapter: Adapter) -> None:
    """A ``LearnerError`` when a parameter holds NaN or inf before any step: nothing can be
    compared from such weights (PyTorch's twin would start from the same values), so there is
    no verdict on the gradient code, as for integer weights; the message names the array."""
    for path, a in zip(adapter.paths, adapter.read_raw(), strict=True):
        if not np.issubdtype(a.dtype, np.floating):
            continue  # said by the adapter, with its own fix
        bad = ~np.isfinite(a)
        if bad.any():
            what = "NaN" if np.isnan(a).any() else "inf"
            first = tuple(int(i) for i in np.argwhere(bad)[0])
            where = f", first at index {first}" if a.ndim else ""
            raise LearnerError(
                f"{path} holds {what} before any step ({int(bad.sum())} of {a.size} entries"
                f"{where}): your initialisation produced it, so no step can be compared. "
                f"Fix how {path} is initialised: np.empty instead of np.zeros, a division by "
                "zero (1 / sqrt(fan_in) with fan_in = 0), the log or sqrt of a negative number"
            )


def loss_check(returned: Any, declared: bool | None, step: int) -> None:
    """A ``LearnerError`` when the gradient function returns its loss as something other than
    a number (a string, a list, an array of per-sample losses): (loss, gradients) with the loss
    a float or a 0-d / 1-element array of numbers."""
    if declared is False or not (isinstance(returned, tuple | list) and len(returned) == 2):
        return
    loss, rest = returned
    if not isinstance(rest, Mapping | list | tuple):
        return
    if isinstance(loss, str | bytes) or loss is None:
        pass  # never a gradient: said below
    elif not declared:
        return  # undeclared: (loss, grads) is recognised only with a number first
    else:
        try:
            a = np.asarray(loss)
            if np.issubdtype(a.dtype, np.number) and a.size == 1:
                return
        except (TypeError, ValueError):
            pass
    shown = repr(loss)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    raise LearnerError(
        f"your gradient function returned its loss as a {type(loss).__name__} ({shown}) at "
        f"step {step}: return the loss as a number (float(loss)), with the gradients: "
        "(loss, grads)"
    )


def returned_loss(ret: Any) -> float | None:
    """The loss a whole step returns: a float (a Python or NumPy float, or a float array of
    one element), NaN included; None for anything else (None, an int such as a step count, a
    tuple, a bool), which no comparison reads (review s45 F3: a NaN loss went unseen)."""
    if isinstance(ret, bool | int | np.integer) or ret is None:
        return None
    if isinstance(ret, float | np.floating) or (
        isinstance(ret, np.ndarray) and ret.size == 1 and np.issubdtype(ret.dtype, np.floating)
    ):
        return float(np.asarray(ret).reshape(-1)[0])
    return None


def returned_value(obs: Any, f: Any) -> Any:
    """``f`` (a ``loss_value_mismatch`` note) said of the float a whole step returned, which
    may be another quantity than its loss (an accuracy: review s47 F2)."""
    if not getattr(obs, "returned", False):
        return f
    from dataclasses import replace

    return replace(
        f,
        evidence=f.evidence.replace(
            "the loss value you return is", "the number your step returns, read as its loss, is", 1
        ),  # fmt: skip
        hint=f"{f.hint}; if that number is not your loss (an accuracy, a count), nothing to fix",
    )
