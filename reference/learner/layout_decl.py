"""The other layout: square weights cannot tell 'in_out' (x @ W) from 'out_in' (W @ x), so the
learner declares one; a correct program declared in the other computes PyTorch's numbers at
every weight transposed. Its forward output, or its loss and every gradient (each weight's
transposed), are then the twin's at the transposed weights: ``layout_declaration``, with the
declaration that fits, never a bug in a correct backward pass (review s20a, t42)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from .codec import canonical_key
from .evidence import to_tensors
from .optim_sim import Sim
from .optim_variants import _follows
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
        return explain_layout_steps(history, ref, X, y, codec, start, atol, rtol)
    for o in seen:
        mine = _flip(o.grads)
        if not same_step(mine, o.loss, ref.run(_flip(o.params), X[o.rows], y[o.rows]), atol, rtol):
            return []
    return [
        layout_finding(codec.layout, start, codec.labels(sorted(seen[0].grads, key=canonical_key)))
    ]


def _flip(p: dict) -> dict:
    return {k: (np.asarray(v).T if k[0] == "W" else np.asarray(v)) for k, v in p.items()}


def explain_layout_steps(
    history: list, ref: Reference, X: np.ndarray, y: np.ndarray, codec: Codec, start: int,
    atol: float, rtol: float,
) -> list[Finding]:  # fmt: skip
    """For steps that show no gradient (a hand-written Adam step; review s20b, a03):
    ``layout_declaration`` where the declared optimizer, run from step 1 at every weight
    transposed with PyTorch's gradients there, takes each of the learner's steps up to the one
    after the first failing (each post-step weight transposed), at least two; else []. Where a
    later step parts in that layout too, the finding says up to where it holds.
    ``history``: (obs, ...) per step from step 1, as ``explain_layout``'s."""
    if not all_square(ref.spec.sizes):
        return []
    need = max(start + 1, 2)  # through the step after the first failing
    obs = []
    for h in history:  # from step 1, each step that shows its post-step weights
        if h[0].after is None or h[0].step != len(obs) + 1:
            break
        obs.append(h[0])
    if len(obs) < need:
        return []
    sim = Sim(ref.spec.opt.name, dict(ref.spec.opt.kwargs))  # its state carries step to step
    for o in obs:
        P = _flip(o.params)
        G = to_tensors(ref.run(P, X[o.rows], y[o.rows]).grads)
        if not _follows(sim, [(to_tensors(P), G, to_tensors(_flip(o.after)))], atol, rtol):
            return [] if o.step <= need else [_until(codec, start, obs, o.step)]
    return [layout_finding(codec.layout, start, _names(codec, obs))]


def _names(codec: Codec, obs: list) -> tuple[str, ...]:
    return codec.labels(sorted(obs[0].after, key=canonical_key))


def _until(codec: Codec, start: int, obs: list, parts: int) -> Finding:
    """The layout reading where it holds up to step ``parts`` - 1 alone: said so, with the
    later step that parts in that layout too (a bug of its own, found once declared)."""
    f = layout_finding(codec.layout, start, _names(codec, obs))
    return replace(
        f,
        evidence=f"{f.evidence} (steps 1-{parts - 1}; at step {parts} your step parts from "
        "PyTorch's in that layout too)",
        hint=f"{f.hint}, then check again: step {parts} has a departure of its own",
    )
