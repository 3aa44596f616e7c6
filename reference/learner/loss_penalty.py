"""A loss value whose L2 penalty is not the one its gradients carry.

The learner's gradients agree with PyTorch's under the declared ``l2`` (l2 W in each weight
gradient), and only the loss value it returns parts: where that value is PyTorch's plus
(lam - l2)/2 sum W^2 at every step, one lam for all, the loss carries lam/2 sum W^2 and the
gradients are not its own: deeplearning.ai's cost lambd/(2m) sum W^2 beside a gradient
lambd W, or a loss lambda sum W^2 beside lambda W. One of the two is wrong, whichever was
meant, so it is a bug, not a note. lam = 0 (a loss printed without its penalty) is left to
the note, as is a value that is PyTorch's times a constant (another reduction).
"""

from __future__ import annotations

import math

from .result import Finding

MIN_STEPS = 2  # a single step cannot tell lam/2 sum W^2 from any other offset


def loss_penalty(history: list, l2: float, rtol: float, atol: float) -> float | None:
    """The L2 coefficient lam != l2, 0 of the learner's loss value (see the module), or
    None. ``history``: the check's (own, twin, expected) per step; ``rtol``, ``atol``: what
    a loss value may differ by and still agree."""
    rows, ratios = [], []
    for own, twin, _ in history:
        if own.loss is None or not math.isfinite(own.loss) or not math.isfinite(twin.loss):
            continue
        s = sum(float((w.astype(float) ** 2).sum()) for k, w in own.params.items() if k[0] == "W")
        rows.append((own.loss - twin.loss, s, atol + rtol * abs(twin.loss)))
        if twin.loss:
            ratios.append(own.loss / twin.loss)
    if len(rows) < MIN_STEPS or not all(s > 0 for _, s, _ in rows):
        return None
    num = sum(d * s for d, s, _ in rows)
    lam = l2 + 2 * num / sum(s * s for _, s, _ in rows)  # least squares: d = (lam - l2) s / 2
    if not all(abs(d - (lam - l2) * s / 2) <= t for d, s, t in rows):
        return None
    mean = sum(d for d, _, _ in rows) / len(rows)
    if all(abs(d - mean) <= t for d, _, t in rows):  # a constant offset fits as well
        return None
    if ratios and max(ratios) - min(ratios) <= rtol * max(abs(r) for r in ratios):
        return None  # PyTorch's value times a constant: another reduction
    scale = max(abs(lam), abs(l2), 1e-300)
    if abs(lam) <= 1e-6 * scale or abs(lam - l2) <= 1e-6 * scale:
        return None
    if all(o.penalty_added for o, _, _ in history) and abs(lam - 2 * l2) <= 1e-6 * scale:
        return None  # l2_in='update': a value that holds the penalty itself, added once more
    return lam


def penalty_finding(lam: float, l2: float, weights: tuple[str, ...], step: int) -> Finding:
    """The bug: the loss value carries lam/2 sum W^2, the gradients l2 W."""
    grads = f"the declared l2 = {l2:g}, l2 W" if l2 else "no L2 term"
    ev = (
        f"your gradients agree with PyTorch's ({grads} in each weight gradient), but the loss "
        f"value you return carries an L2 penalty {lam:.6g}/2 sum W^2 at every step: your "
        "gradients are not your own loss's"
    )
    if l2 and math.isclose(lam, 2 * l2, rel_tol=1e-6):
        ev += " (a loss lambda sum W^2 has the gradient 2 lambda W)"
    hint = (
        f"make the two agree: the gradient of lambda/2 sum W^2 is lambda W, so if your loss is "
        f"right, put {lam:.6g} W in each weight gradient (and declare l2={lam:.6g}); if your "
        "gradients are, take the loss's penalty from the same coefficient"
    )
    return Finding("regularization_mismatch", weights, None, step, ev, hint)
