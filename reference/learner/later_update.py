"""A hidden step whose implied gradients agree at first and all part together later: the update
remembers its past otherwise than declared (review s50 F3: Raschka's first-edition
``w -= eta g + alpha delta_prev``, one earlier step where PyTorch keeps a velocity, agrees at
steps 1-2 and was four unexplained gradients from step 3, with its fix "finite differences").
A gradient bug parts from step 1 as a rule; an update form that differs only through the state
it carries parts once that state differs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .result import Finding

if TYPE_CHECKING:
    from nnparity.scratch import Spec

    from .codec import Codec


def later_update(
    out: list[Finding], implied: bool, failing: dict[str, int], start: int, spec: Spec,
    codec: Codec, history: list,
) -> list[Finding]:  # fmt: skip
    """``out`` as found, or, where the gradients are implied from a hidden step, every finding
    is unexplained and every parameter first parts at one step after the first, one finding
    that says so (one parameter parting later is a branch its data reach then, as likely)."""
    every = len(history[0][0].params)
    if not (implied and start > 1 and out and len(failing) == every):
        return out
    if set(failing.values()) != {start}:
        return out
    bugs = [f for f in out if f.kind == "bug"]
    if not bugs or any(f.code != "unexplained_mismatch" for f in bugs):
        return out  # (notes alone: a convention explains it)
    names = codec.labels(sorted(failing))
    said = ", ".join(names)
    return [
        Finding(
            "unexplained_mismatch",
            names,
            None,
            start,
            f"your post-step weights agree with PyTorch's at steps 1-{start - 1} and part from "
            f"step {start} on {said} at once, and no known {spec.opt.name} variant fed with "
            "PyTorch's gradients at your weights reproduces them: the gradients your steps "
            "imply are right until then, so an update that carries its past otherwise than "
            "declared (a velocity, the previous step's delta, an optimizer state) is the usual "
            "suspect, or a gradient that goes wrong only where your weights arrive later (a "
            "clip, a branch); your step exposes no gradient, so a gradient bug cannot be told "
            "apart from an update bug",
            "expose your gradients (from_gradients with step=...) to separate the two, and "
            f"compare your update line by line with torch.optim's {spec.opt.name}",
        ),
        *(f for f in out if f.kind != "bug"),
    ]
