"""Another loss than the declared one: the learner's loss value and every gradient are
PyTorch's under another loss of the same targets (its loss and gradients are both
mse's where bce is declared), so the code is consistent and the declaration is what differs:
named with the declaration that takes its steps, never as bugs in its backward pass. The
declared loss under another reduction is left to the scale factor (``scale.py``).

Under cross-entropy the same holds for the label smoothing: the targets (1 - e) onehot + e/K
are affine in e, and so is every gradient, so the e the learner's gradients imply is read off
by least squares from the twin's at two values and then held to the twin at that e. This
names fairseq's form, e/(K - 1) on every wrong class and 1 - e on the right one (PyTorch's
at e K/(K - 1)), a smoothing written but not declared, and a declared one the code leaves out
(its loss value and gradients both at e = 0)."""

from __future__ import annotations

import math
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
    seen = [h[0] for h in history[start - 1 : start + 1] if h[0].grads is not None]
    if target_kind(spec) == "class" and spec.loss.name == "cross_entropy" and len(seen) == 2:
        return _smoothing(seen, ref, X, y, codec, start, atol, rtol)
    if target_kind(spec) == "class" or spec.loss.name not in CANDIDATES:
        return []
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
    return same_step(obs.grads, obs.loss, rs, atol, rtol)


def same_step(grads: dict, loss: float | None, rs: RefStep, atol: float, rtol: float) -> bool:
    """Whether every gradient of ``grads`` and the ``loss`` value (None: not returned) are the
    twin's ``rs`` within the hypothesis tolerance (atol of the largest gradient's scale)."""
    scale = max((float(np.abs(g).max(initial=0.0)) for g in rs.grads.values()), default=0.0)
    for k, g in grads.items():
        want = rs.grads.get(k)
        if want is None or np.shape(want) != np.shape(g):
            return False
        if not np.allclose(g, want, rtol=rtol, atol=atol * max(scale, 1e-300)):
            return False
    return loss is None or bool(np.isclose(loss, rs.loss, rtol=rtol, atol=atol))


MIN_SMOOTHING = 1e-4  # a smoothing below this is no label smoothing: round-off or an eps


def _smoothing(
    seen: list, ref: Reference, X: np.ndarray, y: np.ndarray, codec: Codec, start: int,
    atol: float, rtol: float,
) -> list[Finding]:  # fmt: skip
    """``loss_declaration`` where PyTorch's cross-entropy at another label smoothing e takes
    both of the learner's steps (gradients, and the loss value where shown), or []."""
    spec = ref.spec
    kw = dict(spec.loss.kwargs)
    declared = float(kw.get("label_smoothing", 0.0))

    def twin_at(e: float) -> Reference:
        return ref.like(
            spec.replace(loss=choice(losses, "cross_entropy", **{**kw, "label_smoothing": e}))
        )

    o = seen[0]
    names = sorted(o.grads, key=canonical_key)
    g0, g1 = (twin_at(e).run(o.params, X[o.rows], y[o.rows]).grads for e in (0.0, 1.0))
    if any(g0.get(k) is None or np.shape(g0[k]) != np.shape(o.grads[k]) for k in names):
        return []
    mine = np.concatenate([np.ravel(o.grads[k]) - np.ravel(g0[k]) for k in names])
    slope = np.concatenate([np.ravel(g1[k]) - np.ravel(g0[k]) for k in names])
    den = float(slope @ slope)
    if not np.isfinite(mine).all() or den <= 0:
        return []
    e = float(mine @ slope) / den
    e = 0.0 if abs(e) < 1e-9 else e  # the hard labels, up to round-off
    if not 0.0 <= e <= 1.0 or abs(e - declared) <= 1e-6 + 1e-3 * declared:
        return []
    if abs(e - declared) < MIN_SMOOTHING:  # (review s59a F2: a safe log's eps in a log, 1e-7,
        return []  # read as a smoothing of 1.7e-6: no program declares one so small)
    other = twin_at(e)
    if not all(_same(s, other.run(s.params, X[s.rows], y[s.rows]), atol, rtol) for s in seen):
        return []
    k = spec.sizes[-1]
    what = (
        f"label smoothing {e:.6g}: {1 - e + e / k:.6g} on each row's class and {e / k:.6g} on "
        f"each other class"
        if e
        else "no label smoothing (the hard labels)"
    )
    if declared and math.isclose(e * (k - 1) / k, declared, rel_tol=1e-3):
        what += (
            f"; that is {declared:g}/(K - 1) on each wrong class and 1 - {declared:g} on the "
            "right one (fairseq's form)"
        )
    said = f"label_smoothing={declared:g} is declared" if declared else "none is declared"
    return [
        Finding(
            "loss_declaration",
            codec.labels(names),
            None,
            start,
            f"your loss and gradients are PyTorch's cross-entropy at {what}, at steps "
            f"{seen[0].step}-{seen[-1].step}, where {said}: "
            "your code is consistent, and differs from the declaration",
            f"declare loss='cross_entropy(label_smoothing={e:.6g})' if that is the smoothing you "
            f"mean; if {declared:g} is, put 1 - {declared:g} + {declared:g}/K on each row's class "
            f"and {declared:g}/K on the others (K = {k} classes)"
            if declared
            else f"declare loss='cross_entropy(label_smoothing={e:.6g})' if that is the "
            "smoothing you mean; if none is, take the gradient against the one-hot labels",
        )
    ]
