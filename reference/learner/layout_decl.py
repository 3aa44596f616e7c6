"""The other layout: square weights cannot tell 'in_out' (x @ W) from 'out_in' (W @ x), so the
learner declares one; a correct program declared in the other computes PyTorch's numbers at
every weight transposed. Its forward output, or its loss and every gradient (each weight's
transposed), are then the twin's at the transposed weights: ``layout_declaration``, with the
declaration that fits, never a bug in a correct backward pass (review s20a, t42)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .other_loss import same_step
from .result import Finding

if TYPE_CHECKING:
    from .codec import Codec
    from .torch_side import Reference

FORMS = {"in_out": "x @ W", "out_in": "W @ x"}


def all_square(sizes: tuple[int, ...]) -> bool:
    """Whether a network of more than one layer has every weight square (one width)."""
    return len(sizes) > 2 and len(set(sizes)) == 1


def layout_finding(layout: str, step: int, params: tuple[str, ...] = ("forward",)) -> Finding:
    """``layout_declaration``: the code is consistent in the other layout than ``layout``."""
    other = "in_out" if layout == "out_in" else "out_in"
    return Finding(
        "layout_declaration",
        params,
        None,
        step,
        f"your numbers are PyTorch's with every weight transposed: your code computes "
        f"{FORMS[other]} (layout {other!r}) where layout={layout!r} is declared, and square "
        "weights cannot tell the two apart",
        f"declare layout={other!r}",
    )


def layout_or(layout: str, symmetric: list[str]) -> str:
    """The other reading of one layer's weight used transposed, where every other weight is
    symmetric at these weights (then transposing all is the same numbers; review s20b, a06)."""
    other = "in_out" if layout == "out_in" else "out_in"
    return (
        f"; or, if every layer of your code computes {FORMS[other]}, declare layout={other!r}: "
        f"{', '.join(symmetric)} {'is' if len(symmetric) == 1 else 'are'} symmetric at these "
        "weights, so the forward output cannot tell the two readings apart"
    )


def explain_layout(
    history: list,
    ref: Reference,
    X: np.ndarray,
    y: np.ndarray,
    codec: Codec,
    start: int,
    atol: float,
    rtol: float,
) -> list[Finding]:
    """``layout_declaration`` where the learner's loss and gradients at the first failing step
    and the one after it are the twin's at every weight transposed (each weight's gradient
    transposed too), or []."""
    if not all_square(ref.spec.sizes):
        return []
    seen = [h[0] for h in history[start - 1 : start + 1] if h[0].grads is not None]
    if not seen:
        return []
    for o in seen:
        flip = {k: (v.T if k[0] == "W" else v) for k, v in o.params.items()}
        mine = {k: (np.asarray(g).T if k[0] == "W" else g) for k, g in o.grads.items()}
        if not same_step(mine, o.loss, ref.run(flip, X[o.rows], y[o.rows]), atol, rtol):
            return []
    return [layout_finding(codec.layout, start, codec.labels(sorted(seen[0].grads)))]
