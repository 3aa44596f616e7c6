"""``parameter_mutation``: a learner function other than the step (the forward pass, the
gradient function, a layer's backward) that changes the weights in place. The check writes the
weights before each call and compares them after it; a change there is one the learner's own
training takes beside every update (a weight decay written inside backprop, a scaling in
predict), which the declared optimizer does not. A change that is a step down the function's
own gradients is a backward that updates as it goes: a note (its loop may take no other step,
or take that step twice)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .result import Finding

Array = np.ndarray
DOWNHILL = 0.99  # the share of moved elements that must move against their gradient's sign


def _downhill(d: Array, g: Array | None) -> bool:
    """Whether the change ``d`` moves (nearly) every element against its gradient's sign: any
    optimizer's first step (SGD's and momentum's -lr g, Adam's and RMSprop's -lr g / |g|
    elementwise) does; a later momentum or Adam step need not, so the reading is made once."""
    if g is None or np.shape(g) != np.shape(d):
        return False
    d, g = np.asarray(d, np.float64).ravel(), np.asarray(g, np.float64).ravel()
    moved = (d != 0) & (g != 0)
    return bool(moved.any()) and float(np.mean(np.sign(d[moved]) == -np.sign(g[moved]))) >= DOWNHILL


def moved_by_call(
    before: dict[str, Array],
    after: dict[str, Array],
    labels: list[str],
    what: str,
    step: int,
    grads: dict[str, Array] | None = None,
    fused: bool = False,
    stepped: object = None,
    decay: float = 0.0,
) -> Finding | None:
    """The finding when ``after`` (the weights read after the call) differs from ``before``
    (read after they were written); ``labels`` names the parameters in the learner's words.
    A gradient function whose first changes are a step down its own gradients (``grads``:
    every moved element against its gradient's sign, ``_downhill``) backprops and updates in
    one pass (a layer updated as backward reaches it): a note, since its loop may take no other
    step; once read so (``fused``), its later changes are its updates (momentum's need not be
    downhill). The runner holds that update as the step (``stepped``: the step function's
    taken after it, both as the learner's loop takes them). ``decay``: the declared weight
    decay, whose term g + decay w is the direction the first step goes down (review s30c F9:
    SGD with weight decay inside backward was a parameter_mutation)."""
    names = [k for k in before if not np.array_equal(before[k], after[k], equal_nan=True)]
    if not names or fused:
        return None
    label = dict(zip(before, labels, strict=True))
    if grads is not None and decay:  # the declared weight decay joins the step's direction
        grads = {
            k: g + decay * np.asarray(before[k]) if k in before else g for k, g in grads.items()
        }
    if grads is not None and all(_downhill(after[k] - before[k], grads.get(k)) for k in names):
        return Finding(
            "update_in_backward",
            tuple(label[n] for n in names),
            None,
            step,
            f"{what} also updates the weights (each change a step down its gradients): the "
            "check compares its gradients, and holds that update to the declared optimizer's "
            "as your step"
            + (" (your step function's update taken after it)" if stepped is not None else ""),
            "if your training loop updates the weights again after this call, every step is "
            "taken twice: keep one update",
            "note",
        )
    b, a = np.asarray(before[names[0]], float), np.asarray(after[names[0]], float)
    c = float(np.vdot(a, b) / max(float(np.vdot(b, b)), 1e-300))
    how = (
        f" ({label[names[0]]} after the call = {c:.4g} x before)"
        if np.allclose(a, c * b, rtol=1e-6, atol=0)
        else f" ({label[names[0]]} moved by up to {float(np.max(np.abs(a - b))):.3g})"
    )
    return Finding(
        "parameter_mutation",
        tuple(label[n] for n in names),
        None,
        step,
        f"{what} changed the weights in place at step {step}: "
        f"{', '.join(label[n] for n in names)}{how}; your training takes this change beside "
        "every update, which the declared optimizer does not",
        "leave the weights alone outside the update (compute on copies; a weight decay goes "
        "into the gradients or is declared, l2= or weight_decay=); if this function is your "
        "whole training step, give it as the step",
        "hygiene",
    )


def update_twice(
    params: dict[str, Array], moved: dict[str, Array], after: dict[str, Array], labels: list[str],
    step: int,
) -> Finding | None:  # fmt: skip
    """``update_twice`` when the step function, run after a gradient call that updated the
    weights (``moved``), moves them by that same update again (to round-off of it)."""
    names = [k for k in params if k in moved and k in after]
    d1 = {k: np.asarray(moved[k], np.float64) - np.asarray(params[k], np.float64) for k in names}
    d2 = {k: np.asarray(after[k], np.float64) - np.asarray(moved[k], np.float64) for k in names}
    if not any(np.any(d != 0) for d in d1.values()):
        return None
    scale = max(float(np.max(np.abs(d))) for d in d1.values())
    if not all(np.allclose(d2[k], d1[k], rtol=1e-6, atol=1e-6 * scale) for k in names):
        return None
    label = dict(zip(params, labels, strict=True))
    return Finding(
        "update_twice",
        tuple(label[k] for k in names),
        None,
        step,
        "your gradient function updates the weights (a step down its gradients), and your "
        "step function then takes the same update again: each training step moves the "
        "weights twice",
        "keep one update: remove it from the backward pass, or do not call the step after it",
        "hygiene",
    )


def integer_grads(returned: Any) -> Finding | None:
    """``gradient_dtype`` where what the gradient function returned holds arrays of an
    integer or bool dtype (in a dict, list or tuple, two levels deep): their values were cut
    to whole numbers (an int buffer filled by assignment, an astype)."""
    kinds = sorted(_whole(returned, 3))
    if not kinds:
        return None
    return Finding(
        "gradient_dtype",
        (),
        None,
        1,
        f"your gradient function returns {', '.join(kinds)} arrays: every value in them was "
        "cut to a whole number (a buffer made with an integer dtype and filled by assignment, "
        "np.zeros(n, dtype=int), or an astype(int))",
        "make the gradient arrays float: np.zeros_like(W, dtype=float), or drop the astype",
        "hygiene",
    )


def _whole(obj: Any, depth: int) -> set[str]:
    if isinstance(obj, np.ndarray):
        return {obj.dtype.name} if obj.ndim and obj.dtype.kind in "iub" else set()
    if depth and isinstance(obj, dict):
        obj = list(obj.values())
    if depth and isinstance(obj, list | tuple):
        return set().union(*(_whole(v, depth - 1) for v in obj)) if obj else set()
    return set()
