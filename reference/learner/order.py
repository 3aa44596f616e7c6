"""Gradients returned in another order than the parameters are named (backprop order, W and b
swapped): each of the learner's gradients equals PyTorch's gradient of another parameter of the
same shape. Only a permutation that explains every mismatched gradient is named."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .codec import canonical_key
from .result import Finding

if TYPE_CHECKING:
    from .codec import Codec
    from .hypotheses import StepData


def explain_order(data: list[StepData], codec: Codec, failing: dict[str, int]) -> list[Finding]:
    """``gradient_order`` when, at every step of ``data``, the learner's gradient of each failing
    parameter k is PyTorch's gradient of one other parameter j (same shape), j -> k a
    permutation of the failing ones; [] otherwise."""
    keys = sorted(failing, key=canonical_key)
    if len(keys) < 2:
        return []
    took: dict[str, str] = {}
    for k in keys:
        same = [
            j
            for j in keys
            if j != k and all(_fits(s.g[k].shape, s.ref[j].shape) and _close(s, k, j) for s in data)
        ]
        if len(same) != 1:
            return []
        took[k] = same[0]
    if sorted(took.values()) != sorted(keys):
        return []
    pairs = ", ".join(
        f"{codec.label(k)} holds the gradient of {codec.label(j)}" for k, j in took.items()
    )
    return [
        Finding(
            "gradient_order",
            codec.labels(keys),
            None,
            min(failing.values()),
            f"your gradients are PyTorch's in another order: {pairs} (each equal within "
            "tolerance at every step compared)",
            "return the gradients in the order of the parameter names given to the adapter "
            f"({', '.join(s.path for s in codec.slots)}), or give the names in "
            "the order your gradients come (backprop order is last layer first)",
        )
    ]


def _close(s: StepData, k: str, j: str) -> bool:
    """Whether the learner's gradient of k is PyTorch's gradient of j at step ``s``, within
    the tolerance k is judged by."""
    r = s.ref[j]
    g = s.g[k].reshape(r.shape)  # W1 (1, 3) and b1 (3,) of one input: one shape, squeezed
    return bool(((g - r).abs() <= s.atol[k] + s.rtol * r.abs()).all())


def _fits(a: tuple, b: tuple) -> bool:
    """Whether two shapes hold the same entries in the same order (ones dropped)."""
    return tuple(d for d in a if d != 1) == tuple(d for d in b if d != 1)
