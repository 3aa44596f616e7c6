"""A declared ``clip_grad_norm`` written as TensorFlow's ``clip_by_global_norm``, Keras's
``clipnorm`` and the textbooks write it, g * c / ||g|| where ||g|| > c, without the 1e-6 that
PyTorch's ``clip_grad_norm_`` adds to the norm: both are the clip, 1e-6 / ||g|| apart, beyond
float64's tolerance (review s34 F1: a textbook clip was named ``rows_mispaired``). Read once,
at step 1, from PyTorch's gradients: where the learner's post-step weights are the textbook
clip's and not PyTorch's, the twin clips that way from then on, and a note says so."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .result import Finding

if TYPE_CHECKING:
    from .torch_side import Reference

CLOSE = 1e-10  # the textbook form's own distance, relative to the weights (float64 round-off)


def clip_form(ref: Reference, P: dict, obs: Any, grads: dict) -> list[Finding]:
    """The ``clip_form`` note, with ``ref`` set to the textbook clip, where ``obs``'s
    post-step weights are its step from ``grads`` at ``P`` and not PyTorch's; else []."""
    if not ref.clip[1] or obs.after is None or ref.spec.dtype != "float64":
        return []
    steps = []
    for eps in (1e-6, 0.0):
        twin = ref.like(ref.spec)  # a fresh optimizer: ref's own state is left as it is
        twin.clip_eps = eps
        steps.append(twin.update(P, grads))

    def far(e: dict) -> float:
        return max(float(np.abs(np.asarray(obs.after[k]) - e[k]).max()) for k in e)

    scale = max(float(np.abs(v).max(initial=0.0)) for v in obs.after.values()) or 1.0
    torch_way, textbook = far(steps[0]), far(steps[1])
    if not (textbook <= CLOSE * scale < torch_way):
        return []
    ref.clip_eps = 0.0
    return [
        Finding(
            "clip_form",
            (),
            None,
            1,
            f"your clip_grad_norm={ref.clip[1]:g} divides the gradients by their norm, where "
            "PyTorch's clip_grad_norm_ divides by the norm + 1e-6 (TensorFlow's and Keras's "
            "clip, and yours, are the textbook's): compared in your form",
            "nothing to change: both are the clip",
            "note",
        )
    ]
