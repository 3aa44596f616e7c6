"""Another loss than the declared one: the learner's loss value and every gradient are
PyTorch's under another loss of the same targets (its loss and gradients are both
mse's where bce is declared), so the code is consistent and the declaration is what differs:
named with the declaration that takes its steps, never as bugs in its backward pass. The
declared loss under another reduction is left to the scale factor (``scale.py``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from nnparity.scratch import losses, target_kind
from nnparity.scratch.errors import SpecError
from nnparity.scratch.spec_choice import choice

from .codec import canonical_key
from .result import Finding
from .torch_side import Reference

if TYPE_CHECKING:
    from .codec import Codec
    from .runner import Obs
    from .torch_side import RefStep

CANDIDATES = ("mse", "half_sse", "sse", "bce", "bce_with_logits")
REDUCTIONS = ("mean", "sum", "batch")


def explain_other_loss(
    history: list,
    ref: Reference,
    X: np.ndarray,
    y: np.ndarray,
    codec: Codec,
    start: int,
    atol: float,
    rtol: float,
) -> list[Finding]:
    """``loss_declaration`` where one other loss (and reduction) reproduces the learner's loss
    and gradients at the first failing step and the one after it, or []."""
    spec = ref.spec
    if target_kind(spec) == "class" or spec.loss.name not in CANDIDATES:
        return []
    seen = [h[0] for h in history[start - 1 : start + 1] if h[0].grads is not None]
    if not seen or any(o.loss is None for o in seen):  # gradients alone: a derivative slip
        return []  # (sigma' twice under bce is half_sse's gradient) reads the same

    def fits(name: str, red: str) -> bool:
        try:
            other = spec.replace(loss=choice(losses, name, reduction=red))
        except SpecError:
            return False
        twin = ref.like(other)
        return all(_same(o, twin.run(o.params, X[o.rows], y[o.rows]), atol, rtol) for o in seen)

    if any(fits(spec.loss.name, red) for red in REDUCTIONS):
        return []  # the declared loss under another reduction: a scale factor, said there
    for red in REDUCTIONS:  # each loss's own reduction first: sse, not mse summed per sample
        for name in CANDIDATES:
            if name != spec.loss.name and fits(name, red):
                decl = f"loss='{name}'" + (f", reduction='{red}'" if red != "mean" else "")
                return [
                    Finding(
                        "loss_declaration",
                        codec.labels(sorted(seen[0].grads, key=canonical_key)),
                        None,
                        start,
                        f"your loss and gradients are PyTorch's under {name} (reduction {red}) at "
                        f"steps "
                        f"{seen[0].step}-{seen[-1].step}, where {spec.loss} is declared: your "
                        "code is consistent, and differs from the declaration",
                        f"declare {decl} if that is the loss you mean; if {spec.loss.name} is, "
                        f"compute its value and gradient ({name}'s are what your code has)",
                    )
                ]
    return []


def _same(obs: Obs, rs: RefStep, atol: float, rtol: float) -> bool:
    scale = max((float(np.abs(g).max(initial=0.0)) for g in rs.grads.values()), default=0.0)
    for k, g in obs.grads.items():
        want = rs.grads.get(k)
        if want is None or np.shape(want) != np.shape(g):
            return False
        if not np.allclose(g, want, rtol=rtol, atol=atol * max(scale, 1e-300)):
            return False
    return obs.loss is None or bool(np.isclose(obs.loss, rs.loss, rtol=rtol, atol=atol))
