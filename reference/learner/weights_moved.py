"""``parameter_mutation``: a learner function other than the step (the forward pass, the
gradient function, a layer's backward) that changes the weights in place. The check writes the
weights before each call and compares them after it; a change there is one the learner's own
training takes beside every update (a weight decay or an update written inside backprop, a
scaling in predict), which the declared optimizer does not."""

from __future__ import annotations

import numpy as np

from .result import Finding

Array = np.ndarray


def moved_by_call(
    before: dict[str, Array], after: dict[str, Array], labels: list[str], what: str, step: int
) -> Finding | None:
    """The finding when ``after`` (the weights read after the call) differs from ``before``
    (read after they were written); ``labels`` names the parameters in the learner's words."""
    names = [k for k in before if not np.array_equal(before[k], after[k], equal_nan=True)]
    if not names:
        return None
    label = dict(zip(before, labels, strict=True))
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
