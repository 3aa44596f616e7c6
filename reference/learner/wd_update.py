"""``regularization_mismatch`` for an update that applies the declared ``weight_decay`` in
another way than PyTorch's optimizers (``w -= lr * (g + wd * w)``, every parameter), read from
a step that hides its gradients: the update's implied gradient, with the declared decay taken
out, is PyTorch's plus lambda' p, so the learner's own decay is wd + lambda' (in the units of
the gradient: a step of lr (wd + lambda') p). Read before any reading of an L2 penalty in the
loss, which a step of a declared weight_decay would misname (review s25e F2: a decay left out
was "an L2 term of the wrong sign", a decay of the wrong sign was offered as "declare
l2=-0.1", a decay without the lr was "an L2 coefficient of 0.45")."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .l2_layers import same
from .result import Finding

if TYPE_CHECKING:
    from .codec import Codec


def update_decay(
    names: tuple[str, ...],
    step: int,
    own: float,
    wd: float,
    lr: float | None,
    span: str,
    biases: bool = False,
) -> Finding:
    """The finding for parameters ``names`` whose update decays them by lr * ``own`` p a step
    where the declared ``weight_decay=wd`` gives lr * wd p (``biases``: they are the biases
    alone, the weights decaying as declared)."""
    if biases and same(own, 0.0, abs(wd)):  # a decay of the weights alone: L2 on them
        return Finding(
            "regularization_mismatch",
            names,
            None,
            step,
            f"your biases take no weight decay, where weight_decay={wd:g} decays every "
            f"parameter (PyTorch's optimizers do){span}",
            f"decay the biases too, or, for a penalty on the weights only, declare l2={wd:g} "
            "(L2 on the weights) instead of weight_decay",
        )
    shown = 0.0 if same(own, 0.0, max(abs(own), abs(wd))) else own
    said = f"your update decays {', '.join(names)} by lr * {shown:.6g} * p a step{span}, where "
    said += f"weight_decay={wd:g} gives lr * {wd:g} * p (PyTorch's optimizers decay every "
    said += "parameter in the update)"
    right = f"w -= lr * (g + {wd:g} * w)"
    scale = max(abs(own), abs(wd))
    if same(own, 0.0, scale):
        said += ": your update applies no weight decay"
        fix = f"decay in the update, {right}, or drop weight_decay from the declaration"
    elif same(own, -wd, scale):
        said += ": the decay has the wrong sign (it pushes the weights away from 0)"
        fix = f"the decay pulls each parameter towards 0: {right}"
    elif lr and lr != 1 and same(own, wd / lr, scale):
        said += ": the decay leaves out the learning rate (w -= lr * g + wd * w)"
        fix = f"multiply the decay by the learning rate too: {right}"
    elif lr and lr != 1 and same(own, wd * lr, scale):
        said += ": the decay takes the learning rate twice (lr * lr * wd * w)"
        fix = f"apply the learning rate once: {right}"
    elif same(own, 2 * wd, scale):
        said += ": the decay is applied twice (once in your gradient, once in your update?)"
        fix = f"apply it once: {right}, with g the data's gradient alone"
    elif own > 0:
        fix = f"declare weight_decay={own:.6g} if that is your decay, or step with {right}"
    else:  # a negative decay is no declaration: it pushes the weights away from 0
        fix = f"a decay pulls each parameter towards 0: {right}"
    return Finding("regularization_mismatch", names, None, step, said, fix)


def update_decays(
    codec: Codec,
    failing: dict[str, int],
    groups: list[list[str]],
    fits: dict[str, float],
    wd: float,
    lr: float | None,
    span: str,
) -> list[Finding]:
    """One ``update_decay`` per group of parameters (the weights, the biases) whose own decay
    is wd + lambda'; one for both where they decay alike."""
    parts = [(g, wd + fits[g[0]]) for g in groups if g]
    if len(parts) == 2 and same(parts[0][1], parts[1][1], max(abs(parts[0][1]), wd)):
        parts = [(parts[0][0] + parts[1][0], parts[0][1])]
    return [
        update_decay(
            codec.labels(g),
            min(failing[k] for k in g),
            own,
            wd,
            lr,
            span,
            all(k[0] == "b" for k in g) and not groups[0],
        )  # fmt: skip
        for g, own in parts
    ]
