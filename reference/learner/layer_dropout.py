"""Dropout's check: the learner's mask is recovered from its own forward output, then judged.

Inverted dropout (PyTorch's ``F.dropout``) in training: out = x * mask / keep, each element
kept with probability keep = 1 - p (p the drop probability; the keep probability where the
learner declares ``p="keep"``, CS231n's convention); in eval mode out = x. Every element of
the input is non-zero, so mask = (out != 0) and the factor out / x on the kept elements shows
the scaling. The backward must route dout through the same mask: dx = dout * mask / keep.
The findings (class 18, ``dropout_mask``): the mask not applied in backward, a new mask drawn
in backward, ``p`` read as the other probability or a mask drawn from another distribution
(the kept fraction, ``mask_draws``), one mask shared by every sample or whole samples dropped,
the same mask at every call (``same_mask``, across the two training cases), the 1 / keep
scaling missing (non-inverted dropout) or applied at test time, a test-mode backward that is
not the identity.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .layer_cases import Case
from .mask_draws import Draws, axis_text

Array = np.ndarray
TOL = 1e-9
CODE = "dropout_mask"
# (the message, the fix) per finding
WHY = {
    "p_meaning": (
        "keeps {kept:.0%} of the elements where p={p} means keep {keep:.0%} ({conv})",
        "read p as declared: {fix_p}",
    ),
    "unscaled": (
        "is x * mask without the division by the keep probability (out / x = {factor:.4g} "
        "on the kept elements, expected {want:.4g}): non-inverted dropout",
        "scale in training: out = x * mask / keep (inverted dropout, as PyTorch), and leave "
        "eval mode untouched",
    ),
    "scale": (
        "is x * mask * {factor:.4g}, expected x * mask / keep = x * mask * {want:.4g}",
        "scale in training by 1 / keep, keep = {keep_expr}",
    ),
    "not_a_mask": (
        "is not x times one mask and one factor (out / x on the kept elements varies "
        "from {lo:.4g} to {hi:.4g})",
        "out = x * mask / keep with mask = (np.random.rand(*x.shape) < keep)",
    ),
    "drawn": (
        "keeps {kept:.1%} of the elements where keep = {keep:.0%} ({n:,} draws: {sd:.0f} "
        "standard deviations off): the mask is not drawn as rand < keep",
        "draw the mask as mask = np.random.rand(*x.shape) < keep (uniform draws; randn's "
        "normal draws keep Phi(keep) of the elements)",
    ),
    "shared": (
        "is the same along an axis: {how} (independent draws do so with probability 1e{log10:.0f})",
        "draw one value per element: mask = np.random.rand(*x.shape) < keep, x's whole shape",
    ),
    "same_mask": (
        "drops the same elements in both training calls (seeds {seeds} given): the mask is "
        "drawn the same at every call",
        "do not seed NumPy's generator with a constant inside the layer: use dropout_param's "
        "seed when it has one, else the running generator",
    ),
    "eval": (
        "in eval mode is x * {factor:.4g}; PyTorch's eval dropout is the identity",
        "in eval ('test') mode return x unchanged: inverted dropout already scaled in training",
    ),
    "no_mask_backward": (
        "= dout{scaled} on every element: the mask is not applied in backward",
        "dx = dout * mask / keep, with the mask the forward used (keep it in the cache)",
    ),
    "new_mask": (
        "is zero on other elements than the forward dropped ({diff} of {n} differ): a new "
        "mask is drawn in backward",
        "keep the forward's mask in the cache and use it in backward: dx = dout * mask / keep",
    ),
    "dx_scale": (
        "on the kept elements = dout * {factor:.4g}, expected dout / keep = {want:.4g}",
        "dx = dout * mask / keep: the same factor as the forward",
    ),
}


Finding = tuple[str, str, str, str]


def dropout_findings(
    case: Case, forward: Callable, backward: Callable | None, declared_keep: bool
) -> tuple[list[Finding], Array | None]:
    """(tensor, why-key message, fix, code) for each way the learner's dropout parts from
    PyTorch's on ``case`` ([] when it agrees), and the training mask (None in eval mode or
    where none is read), which ``same_mask`` compares across cases."""
    x = case.x
    keep = case.info["keep"]
    p = case.layer_param["p"]
    conv = (
        "CS231n's keep probability, as declared" if declared_keep else "PyTorch's drop probability"
    )
    fix_p = (
        "keep = p"
        if declared_keep
        else "keep = 1 - p (PyTorch: p is the drop probability); or declare p='keep'"
    )
    res = forward(x.copy(), dict(case.layer_param))
    out, cache = res if isinstance(res, tuple) else (res, None)
    out = np.asarray(out, dtype=float)
    if out.shape != x.shape:
        shape = f"out has shape {out.shape}, x has {x.shape}"
        return [("out", shape, "dropout keeps x's shape", "layer_shape")], None
    ratio = out / x
    if not case.train:
        found: list[Finding] = []
        if not np.all(np.abs(ratio - 1) <= TOL):
            msg, fix = WHY["eval"]
            found.append(("out", msg.format(factor=float(np.median(ratio))), fix, CODE))
        return found, None
    mask = out != 0
    kept = ratio[mask]
    if kept.size == 0:
        return [("out", "every element dropped", fix_p, CODE)], mask
    factor = float(np.median(kept))
    found = []
    if np.max(np.abs(kept - factor)) > TOL * max(1.0, abs(factor)):
        msg, fix = WHY["not_a_mask"]
        return [("out", msg.format(lo=kept.min(), hi=kept.max()), fix, CODE)], mask
    draws = Draws(keep)
    draws.add(mask)
    ax = draws.shared_axis()
    if ax is not None:  # fewer independent draws than elements: the fraction says little
        msg, fix = WHY["shared"]
        log10 = draws.constant[ax] / np.log(10)  # type: ignore[index]
        found.append(("out", msg.format(how=axis_text(ax, mask.ndim), log10=log10), fix, CODE))
    elif draws.fraction_off():
        frac = draws.fraction()
        sd = np.sqrt(keep * (1 - keep) / mask.size)
        other = abs(frac - (1 - keep)) <= 6 * sd  # the other probability: p read the other way
        msg, fix = WHY["p_meaning"] if other else WHY["drawn"]
        said = msg.format(
            kept=frac, p=p, keep=keep, conv=conv, n=mask.size, sd=abs(frac - keep) / sd
        )
        found.append(("out", said, fix.format(fix_p=fix_p), CODE))
    want = 1 / keep
    if abs(factor - want) > 1e-9 * want and not found:
        key = "unscaled" if abs(factor - 1) < 1e-12 else "scale"
        msg, fix = WHY[key]
        keep_expr = "p" if declared_keep else "1 - p"
        found.append(
            ("out", msg.format(factor=factor, want=want), fix.format(keep_expr=keep_expr), CODE)
        )
    if backward is None:
        return found, mask
    dout = np.random.default_rng(7).normal(size=x.shape)
    dx = backward(dout.copy(), cache)
    dx = np.asarray(dx[0] if isinstance(dx, tuple) else dx, dtype=float)
    if dx.shape != x.shape:
        shape = f"dx has shape {dx.shape}, x has {x.shape}"
        return [*found, ("dx", shape, "dx = dout * mask / keep", "layer_shape")], mask
    bmask = dx != 0
    if bmask.all():
        s = float(np.median(dx / dout))
        msg, fix = WHY["no_mask_backward"]
        scaled = "" if abs(s - 1) < 1e-9 else f" * {s:.4g}"
        return [*found, ("dx", msg.format(scaled=scaled), fix, CODE)], mask
    if (bmask != mask).any():
        msg, fix = WHY["new_mask"]
        diff = msg.format(diff=int((bmask != mask).sum()), n=mask.size)
        return [*found, ("dx", diff, fix, CODE)], mask
    bfactor = float(np.median(dx[bmask] / dout[bmask]))
    if (
        abs(bfactor - factor) > 1e-9 * abs(factor)
        or np.max(np.abs(dx[bmask] / dout[bmask] - bfactor)) > TOL
    ):
        msg, fix = WHY["dx_scale"]
        found.append(("dx", msg.format(factor=bfactor, want=factor), fix, CODE))
    return found, mask


def same_mask(masks: list[Array], seeds: list[object]) -> Finding | None:
    """``same_mask`` when the training cases' masks (same shape, other seeds and inputs) are
    one mask: independent draws agree at an element with probability keep^2 + (1 - keep)^2."""
    if len(masks) < 2 or any(m.shape != masks[0].shape for m in masks):
        return None
    if not all(np.array_equal(m, masks[0]) for m in masks[1:]):
        return None
    msg, fix = WHY["same_mask"]
    return ("out", msg.format(seeds=", ".join(map(str, seeds))), fix, CODE)
