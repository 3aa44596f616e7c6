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


def another_loss_value(
    history: list, ref: Any, X: Any, y: Any, step: int, rtol: float, atol: float
) -> Finding | None:
    """A bug where every loss value the learner returns (from ``step``) is another loss's of its
    outputs (mse's where bce is declared) while its gradients are the declared loss's: the
    program descends one loss and reports another (a sigmoid output under mse whose backward
    leaves out sigma' has bce's gradient; review s22, finding 4). None where a value is the
    declared loss's under another reduction, or another of its family (mse, half_sse and sse
    are one sum of squares scaled: a note, said by the caller), or no loss fits."""
    from nnparity.scratch import losses, target_kind
    from nnparity.scratch.errors import SpecError
    from nnparity.scratch.spec_choice import choice

    from .other_loss import CANDIDATES, REDUCTIONS

    spec = ref.spec
    shown = [h[0] for h in history[step - 1 :] if h[0].loss is not None]
    if (
        target_kind(spec) == "class"
        or not shown
        or not all(map(math.isfinite, (o.loss for o in shown)))
    ):
        return None

    def fits(name: str, red: str) -> bool:
        try:
            twin = ref.like(spec.replace(loss=choice(losses, name, reduction=red)))
        except SpecError:
            return False
        for o in shown:
            want = twin.run(o.params, X[o.rows], y[o.rows]).loss
            if not (math.isfinite(want) and abs(o.loss - want) <= atol + rtol * abs(want)):
                return False
        return True

    if any(fits(spec.loss.name, red) for red in REDUCTIONS):
        return None
    for red in REDUCTIONS:
        for name in CANDIDATES:
            if _family(name) != _family(spec.loss.name) and fits(name, red):
                o = shown[0]
                its = f"{name}'s" + (f" (reduction {red})" if red != "mean" else "")
                return Finding(
                    "loss_value_of_another_loss",
                    ("loss",),
                    None,
                    o.step,
                    f"the loss value you return is {its} of your outputs ({o.loss:.6g} at step "
                    f"{o.step}, at every step shown), while your gradients are {spec.loss.name}'s, "
                    "the declared loss: your program descends one loss and reports another",
                    f"decide which loss you train: for {spec.loss.name}, compute the value as "
                    f"{spec.loss.name}; for {name}, declare loss='{name}' and check again, which "
                    f"holds your gradients to {name}'s (a backward that leaves out the output "
                    "activation's derivative is found there)",
                )
    return None


def _family(name: str) -> str:
    """Losses that are one function up to a constant factor share a family."""
    return "squares" if name in ("mse", "half_sse", "sse") else name.removesuffix("_with_logits")


def value_form(history: list, step: int, ref: Any, X: Any, y: Any, rtol: float,
               atol: float) -> Finding | None:  # fmt: skip
    """``probability_bce``'s note, else the note where the learner's loss value at ``step`` is
    PyTorch's at the weights its step leaves (the value read after the update: Deep Learning
    from Scratch's train_neuralnet calls network.loss after optimizer.update; review s59c
    F8); else None."""
    if form := probability_bce(history, step, ref, y, rtol, atol):
        return form
    o = history[step - 1][0]
    if o.after is None or o.loss is None:
        return None
    after = ref.run(o.after, X[o.rows], y[o.rows]).loss
    if not math.isclose(o.loss, after, rel_tol=rtol, abs_tol=atol):
        return None
    return Finding(
        "loss_value_mismatch",
        ("loss",),
        None,
        step,
        f"the loss value you return is PyTorch's at the weights your step leaves ({after:.8g}), "
        "not at the weights it started from: read after your update, while the gradients "
        "agree: training is unaffected",
        "read the loss before the update (or from the forward pass of the step) if you compare "
        "or print it",
        "note",
    )
