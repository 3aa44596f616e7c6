"""Differences from PyTorch that are not bugs, as the gradient search finds them: a safe
log's epsilon in binary cross-entropy's chain rule (``clip_convention``, with how many samples
it costs their gradient), and the derivative at a kink (``kink_convention``)."""

from __future__ import annotations

from .hypotheses import StepData

CONVENTIONS = (  # (the derivative candidate's key, code, what it is, the hint)
    (
        lambda key: key.startswith("ceadd "),
        "clip_convention",
        "{}{}: the exact gradient (PyTorch's cross_entropy from the logits, softmax - y, the "
        "twin's) differs from it by eps / p relative, p a sample's probability of its class: "
        "visibly only where p comes near eps",
        "nothing to fix: a safe log's epsilon is a convention; to keep the exact gradient, use "
        "dz = (p - y) / N for a softmax output under cross-entropy",
    ),
    (
        lambda key: key.startswith(("ceclip ", "ceout ")),
        "clip_convention",
        "{}{}: the exact gradient (PyTorch's cross_entropy from the logits, softmax - y, the "
        "twin's) differs from it only where a sample's probability is within eps of 0 or 1",
        "nothing to fix: a safe log's epsilon is a convention; to keep the gradient of "
        "saturated samples too, use dz = (p - y) / N for a softmax output under cross-entropy",
    ),
    (
        lambda key: key.startswith(("clip ", "clamp ", "add ", "out ", "cmask ")),
        "clip_convention",
        "{}{}: the exact gradient (PyTorch's from the logits, BCEWithLogitsLoss, the twin's) "
        "differs from it only where a sample saturates (a within eps of 0 or 1)",
        "nothing to fix: a safe log's epsilon is a convention; to keep the gradient of "
        "saturated samples too, use dz = (a - y) / N for a sigmoid output under binary "
        "cross-entropy",
    ),
    (
        lambda key: key in ("kink", "kink mid"),
        "kink_convention",
        "{} where z is exactly 0{}",
        "nothing to fix: the derivative at the kink is a convention",
    ),
)


def saturated(s: StepData, key: str) -> str:
    """How many samples lose most of their output gradient to a clipped log at step ``s``
    (of those whose exact gradient is not round-off beside the largest)."""
    if key not in s.alt_dz:
        return ""
    e = s.dl_dz.abs()  # (the samples with an exact gradient worth losing)
    lost = (((s.alt_dz[key] - s.dl_dz).abs() > 0.5 * e) & (e > 1e-3 * e.max())).any(dim=1)
    if not bool(lost.any()):
        return ""
    return (
        f"; at step {s.step}, {int(lost.sum())} of {len(lost)} samples saturate away from "
        "their targets, where your gradient keeps less than half of the exact one, so they "
        "barely train (inputs scaled to about unit size keep them off the clip)"
    )
