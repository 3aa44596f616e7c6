"""The optimizer departure that some parameters alone follow, the others following the
declared optimizer (weight decay left off the biases; a bias left out of the Adam loop)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .optim_variants import EQUATION, FITTED, Sim, _follows, variant_search
from .result import Finding

if TYPE_CHECKING:
    from .codec import Codec


def subset_finding(
    name: str, kw: dict[str, Any], seq: list, k: int, parting: list[str] | None, atol: float,
    rtol: float, codec: Codec, first: int, whose: str,
) -> list[Finding]:  # fmt: skip
    """``optimizer_update_mismatch`` naming what the ``parting`` parameters follow, else []."""
    part = _subset(name, kw, seq, k, parting, atol, rtol)
    if not part:
        return []
    said = ", ".join(codec.labels(parting or []))
    if part[0][0] == "plain_sgd":
        follows = part[0][1]
        fix = (
            f"step {said} with the {name} update as the others (a parameter left out of the "
            f"optimizer's loop?): {EQUATION[name]}"
        )
    else:
        follows = f"{name} with " + " and ".join(lab for _, lab, _ in part)
        fixes = "; ".join(f"({i}) {fix}" for i, (_, _, fix) in enumerate(part, 1))
        keys = tuple(key for key, _, _ in part)
        fix = SUBSET_FIX.get(keys, "{fixes}, for {said} as for the others")
        fix = fix.format(fixes=fixes, said=said)
    return [
        Finding(
            "optimizer_update_mismatch",
            tuple(codec.labels(parting or [])),
            None,
            first,
            f"from {whose}, the post-step weights of {said} follow {follows}, and the others "
            f"the declared {name}",
            fix,
        )
    ]


SUBSET_FIX = {
    ("no_decay",): "{fixes}, for {said} as for the others (leaving biases undecayed is a common "
    "parameter-group choice, which the declaration cannot express: the twin decays every "
    "parameter, as torch.optim with model.parameters() does; to check the rest, decay every "
    "parameter while checking)",
    ("no_momentum",): "give {said} a velocity kept from step to step as the others have: the "
    "declared momentum applies to every parameter, as torch.optim.SGD(model.parameters()) does",
}


def _subset(name: str, kw: dict, seq: list, k: int, parting: list[str] | None, atol: float,
            rtol: float) -> list:  # fmt: skip
    """A variant that the ``parting`` parameters alone follow (the others follow the declared
    optimizer; ``k``: the first parting step of ``seq``): to three steps past it, or, for
    fewer than three numbers (a one-element bias, review s31 F1: Adam's v over |db|), over
    every step seen: six numbers past ``k`` at least, nine for a fitted value (one number's
    three steps read a tiny lr decay as eps inside the root); plain SGD first (s32 F2)."""
    sub, numbers = _parting_seq(seq, k, parting)
    if sub is None:
        return []
    if name != "sgd":  # the parting ones stepped by plain SGD (left out of the Adam loop)
        lr = float(kw.get("lr", 1e-3))
        if _follows(Sim("sgd", {"lr": lr}), sub, atol, rtol):
            return [("plain_sgd", f"plain SGD (w -= lr * g) with lr = {lr:g}", "")]
    found = variant_search(name, kw, sub, atol, rtol)
    fitted = any(key in FITTED for key, _, _ in found)
    return [] if fitted and numbers < FITTED_NUMBERS else found


FEW, FEW_NUMBERS, FITTED_NUMBERS = 3, 6, 9  # a fitted value takes three numbers more


def _parting_seq(seq: list, k: int, parting: list[str] | None) -> tuple[list | None, int]:
    """(the ``parting`` parameters' own steps, numbers past ``k`` they hold): to three steps
    past ``k``, or, for fewer than ``FEW`` numbers, every step seen, (None, 0) where they are
    not some of the parameters or hold fewer than ``FEW_NUMBERS``."""
    if not parting or not seq or not set(parting) < set(seq[0][2]):
        return None, 0
    size = sum(seq[0][2][n].numel() for n in parting)
    few = size < FEW
    if few and size * (len(seq) - k) < FEW_NUMBERS:  # too few to tell variants apart
        return None, 0
    sub = [tuple({n: d[n] for n in parting if n in d} for d in step) for step in seq]
    return (sub if few else sub[: k + 3]), size * ((len(seq) if few else k + 3) - k)
