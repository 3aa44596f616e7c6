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
    transposed too), or []. Where a later step parts in that layout too, the finding says up
    to where it holds (``qualified``)."""
    if not all_square(ref.spec.sizes):
        return []
    seen = [h[0] for h in history[start - 1 : start + 1] if h[0].grads is not None]
    if not seen:
        return explain_layout_steps(history, ref, X, y, codec, start, atol, rtol)
    for o in seen:
        mine = _flip(o.grads)
        if not same_step(mine, o.loss, ref.run(_flip(o.params), X[o.rows], y[o.rows]), atol, rtol):
            return []
    names = codec.labels(sorted(seen[0].grads, key=canonical_key))
    f = layout_finding(codec.layout, start, names)
    return [qualified(f, history[seen[-1].step :], ref, X, y, atol, rtol)]


def qualified(
    f: Finding, history: list, ref: Reference, X: np.ndarray, y: np.ndarray, atol: float,
    rtol: float,
) -> Finding:  # fmt: skip
    """``f`` (a ``layout_declaration`` read off some steps) as it stands over ``history``, the
    steps after those: where one of them shows a forward output, loss or gradient that is not
    the twin's at every weight transposed, the finding says so (a bug of its own, found once
    declared) instead of claiming every step (review s21)."""
    parts = _departure(history, ref, X, y, atol, rtol, f.step)
    return f if parts is None else _until(f, f.step, *parts)


def _departure(
    history: list, ref: Reference, X: np.ndarray, y: np.ndarray, atol: float, rtol: float,
    read: int,
) -> tuple[int, str] | None:  # fmt: skip
    """(step, what) of the first step whose forward output (but step ``read``'s, which was
    read already), or loss and gradients, are not the twin's at every weight transposed; None
    where every step's shown numbers are."""
    for o in (h[0] for h in history):
        out = None if o.step == read else o.out
        if out is None and o.grads is None:
            continue
        rs = ref.run(_flip(o.params), X[o.rows], y[o.rows])
        if out is not None and not _same_out(np.asarray(out), rs.out, atol, rtol):
            return o.step, "forward output parts"
        if o.grads is not None and not same_step(_flip(o.grads), o.loss, rs, atol, rtol):
            return o.step, "gradients part"
    return None


def _same_out(out: np.ndarray, want: np.ndarray, atol: float, rtol: float) -> bool:
    """``forward._equal``'s criterion: within atol of the twin's scale plus rtol of each."""
    if out.shape != want.shape:
        return False
    scale = max(float(np.abs(want).max(initial=0.0)), 1e-300)
    return bool((np.abs(out - want) <= atol * scale + rtol * np.abs(want)).all())


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
    f = layout_finding(codec.layout, start, codec.labels(sorted(obs[0].after, key=canonical_key)))
    for o in obs:
        P = _flip(o.params)
        G = to_tensors(ref.run(P, X[o.rows], y[o.rows]).grads)
        if not _follows(sim, [(to_tensors(P), G, to_tensors(_flip(o.after)))], atol, rtol):
            return [] if o.step <= need else [_until(f, 1, o.step, "step parts")]
    return [f]


def _until(f: Finding, first: int, parts: int, what: str) -> Finding:
    """The layout reading ``f``, which holds from step ``first`` to ``parts`` - 1 alone (at
    ``parts`` itself where only the forward output was read): said so, with the step that
    parts in that layout too (a bug of its own, found once declared)."""
    held = (
        "the forward output alone"
        if parts == first
        else f"step {first}"
        if parts == first + 1
        else f"steps {first}-{parts - 1}"
    )
    return replace(
        f,
        evidence=f"{f.evidence} ({held}; at step {parts} your {what} from PyTorch's in that "
        "layout too)",
        hint=f"{f.hint}, then check again: step {parts} has a departure of its own",
    )
