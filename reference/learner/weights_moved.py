"""``parameter_mutation``: a learner function other than the step (the forward pass, the
gradient function, a layer's backward) that changes the weights in place. The check writes the
weights before each call and compares them after it; a change there is one the learner's own
training takes beside every update (a weight decay written inside backprop, a scaling in
predict), which the declared optimizer does not. A change that is a step down the function's
own gradients is a backward that updates as it goes: a note (its loop may take no other step,
or take that step twice)."""

from __future__ import annotations

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
) -> Finding | None:
    """The finding when ``after`` (the weights read after the call) differs from ``before``
    (read after they were written); ``labels`` names the parameters in the learner's words.
    A gradient function whose first changes are a step down its own gradients (``grads``:
    every moved element against its gradient's sign, ``_downhill``) backprops and updates in
    one pass (a layer updated as backward reaches it): a note, since its loop may take no other
    step; once read so (``fused``), its later changes are its updates (momentum's need not be
    downhill)."""
    names = [k for k in before if not np.array_equal(before[k], after[k], equal_nan=True)]
    if not names or fused:
        return None
    label = dict(zip(before, labels, strict=True))
    if grads is not None and all(_downhill(after[k] - before[k], grads.get(k)) for k in names):
        return Finding(
            "update_in_backward",
            tuple(label[n] for n in names),
            None,
            step,
            f"{what} also updates the weights (each change a step down its gradients): the "
            "check compares its gradients and applies the declared update once per step",
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
