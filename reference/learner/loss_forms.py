"""A loss value in another valid form than the twin's. The twin takes binary cross-entropy
from the logits (``BCEWithLogitsLoss``: exact where an output saturates); a learner who
writes ``-mean(y log a + (1 - y) log(1 - a))`` on the sigmoid's output gets what PyTorch's
``BCELoss`` on that output gives, which loses digits in ``log(1 - a)`` once ``a`` rounds
near 1 (review s16b r01: the note called the logits form "PyTorch's" and sent the learner
looking for a term scaled or left out)."""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from .result import Finding


def probability_bce(history: list, step: int, ref: Any, y: Any, rtol: float,
                    atol: float) -> Finding | None:  # fmt: skip
    """The note where the learner's loss value at ``step`` is BCE taken on the sigmoid's
    output (PyTorch's ``BCELoss``), within (rtol, atol), and not the logits form; else
    None."""
    spec = ref.spec
    if spec.loss.name != "bce" or spec.activations[-1].name != "sigmoid" or ref.l2:
        return None
    own, rs, _ = history[step - 1]
    if own.loss is None or not rs.z or rs.z[-1] is None:
        return None
    z = rs.z[-1].to(torch.float64)
    t = torch.as_tensor(y[own.rows], dtype=torch.float64).reshape(z.shape)
    red = ref.reduction if ref.reduction in ("mean", "sum") else "sum"
    prob = float(F.binary_cross_entropy(torch.sigmoid(z), t, reduction=red))
    if ref.reduction == "batch":
        prob /= z.shape[0]
    exact = float(rs.loss)
    if not math.isfinite(prob) or abs(own.loss - prob) > atol + rtol * abs(prob):
        return None
    if abs(prob - exact) <= atol + rtol * abs(exact):  # the two forms agree: no saturation,
        return None  # so the value parts for another reason (``loss_value_mismatch``)
    return Finding(
        "loss_value_form",
        ("loss",),
        None,
        step,
        f"the loss value you return is {own.loss:.6g}, binary cross-entropy taken on the "
        f"sigmoid's output as PyTorch's BCELoss takes it ({prob:.6g}); from the logits "
        f"(BCEWithLogitsLoss, the twin's) it is {exact:.6g}: log(1 - a) loses digits where an "
        "output rounds near 1, and the gradients agree, so training is unaffected",
        "nothing to fix; for the exact value, take it from the logits: "
        "mean(max(z, 0) - z y + log(1 + exp(-|z|)))",
        "note",
    )
