"""A declared ``clip_grad_norm`` written as TensorFlow's ``clip_by_global_norm``, Keras's
``global_clipnorm`` and the textbooks write it, g * c / ||g|| where ||g|| > c, without the 1e-6 that
PyTorch's ``clip_grad_norm_`` adds to the norm: both are the clip, 1e-6 / ||g|| apart, beyond
float64's tolerance (review s34 F1: a textbook clip was named ``rows_mispaired``; s35 F1: one
that first binds at step 2). ``Reference.update`` takes, at each step, the form whose step is
nearer the learner's; this says so, once."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .result import Finding

if TYPE_CHECKING:
    from .torch_side import Reference


def clip_form(ref: Reference, notes: list[Finding]) -> list[Finding]:
    """The ``clip_form`` note where a step of the learner's was the textbook clip's and no
    note says so yet; else []."""
    if not ref.textbook_clip or any(f.code == "clip_form" for f in notes):
        return []
    return [
        Finding(
            "clip_form",
            (),
            None,
            None,
            f"your clip_grad_norm={ref.clip[1]:g} divides the gradients by their norm, where "
            "PyTorch's clip_grad_norm_ divides by the norm + 1e-6 (TensorFlow's and Keras's "
            "clip, and yours, are the textbook's): compared in your form",
            "nothing to change: both are the clip",
            "note",
        )
    ]
