"""Naming what parts in a layered learner network, at the first step that parts.

1. Running statistics (``buffers`` records): the learner's against the other conventions'
   updates from the same batch statistics (the running average PyTorch's or CS231n's way, the
   biased or unbiased variance): one that fits is ``batchnorm_running`` whose fix is that
   convention's declaration; none is ``batchnorm_running`` with the numbers.
2. Loss and gradients: the twin re-run with one layer replaced by each of its named wrong
   versions (``layered_variants``); one that reproduces the learner's loss and every gradient
   names the bug at that layer (``batchnorm_backward``, ``batchnorm_variance``,
   ``dropout_mask``, ``conv_flip``, ``pool_routing``).
3. Else ``layer_mismatch`` at the first tensor that parts in backpropagation order (the
   highest-numbered layer; the loss first when the forward pass already differs: not where the
   top layer's gradients agree, a value computed apart), with its scale against the twin's:
   ``sign_flip`` or ``scale_factor`` when the tensor is the twin's times one factor."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from nnparity.reference.compare import Record
from nnparity.reference.layered_engine import layer_of

from .diag_texts import LAYER_HINTS
from .factors import proportion
from .layer_judge import NEAR_ONE
from .layered_decl import LayeredDecl
from .layered_reference import LayeredRef, LStep
from .layered_residual import regularization, swapped
from .layered_running import _close, _running
from .layered_updated import updated_dx
from .layered_variants import variants
from .result import Finding, factor_text

Array = np.ndarray
EXPLAINED = 0.01  # ... and leaves at most this share of a loss that parts unexplained


def _reproduces(t: LStep, loss: float | None, G: dict[str, Array], gap: float = 0.0) -> bool:
    """The learner's loss and every gradient, each gradient judged on the scale of all of
    them (a bias feeding a batchnorm has a gradient of round-off size). ``gap``: the
    learner's loss against the twin's; a variant explains it only by closing it to below
    ``EXPLAINED`` of it (a backward-only variant, with the twin's loss, never does)."""
    if loss is not None and not _close(loss, t.loss):
        return False
    if loss is not None and gap and abs(loss - t.loss) > EXPLAINED * gap:
        return False
    S = max(float(np.abs(g).max(initial=0.0)) for g in t.grads.values())
    return all(_close(G[n], t.grads[n], S) for n in G)


def _path(learner: Any, name: str) -> str:
    return dict(zip(learner.names, learner.a.paths, strict=True)).get(name, name)


def _yours(learner: Any, name: str) -> str:
    """The learner's name, with the twin's where they differ: ``W2 (the twin's W3)``."""
    path = _path(learner, name)
    return path if path == name else f"{path} (the twin's {name})"


def diagnose(
    ref: LayeredRef,
    learner: Any,
    decl: LayeredDecl,
    recs: list[Record],
    T: LStep,
    P: dict,
    B0: dict,
    B1: dict | None,
    masks: dict,
    fresh: list | None,
    X: Array,
    y: Array,
    loss: float | None,
    G: dict,
    k: int,
) -> list[Finding]:
    bad = [r for r in recs if not r.passed]
    out: list[Finding] = []
    core = [r for r in bad if r.stage in ("loss", "grad")]
    if apart := _value_only(core, G):  # the loss value alone parts (review s59a F3: a sum
        core, loss = [r for r in core if r.stage != "loss"], None  # of squares beside mean
    if core:  # gradients): judged on the gradients, the value said apart
        out.append(
            _variant(ref, decl, core, P, B0, masks, fresh, X, y, loss, G, k, learner)
            or regularization(decl, core, G, T, P, learner, k)
            or swapped(ref, core, G, P, B0, X, y, masks, loss, learner, k)
            or updated_dx(ref, core, P, B0, X, y, masks, loss, G, k, learner, _reproduces)
            or _mismatch(ref, decl, core, G, T, k, learner)
        )
        if apart:  # (no variant reproduced that value: the gradients alone)
            out[-1] = replace(out[-1], evidence=out[-1].evidence.replace("your loss and ", ""))
    if any(r.stage == "buffers" for r in bad):
        running = _running(ref, decl, bad, B0, B1, X, P, masks, k, learner)
        if any(r.stage == "loss" for r in bad):  # the forward parts: so do the batch statistics
            running = [
                replace(
                    f,
                    evidence=f"{f.evidence} (likely a consequence of your forward pass parting: "
                    "its batch statistics differ too; fix that first)",
                    kind="note",
                )
                if "fit no running average" in f.evidence or out  # (review s59b F12: beside
                else f  # a named forward bug, batchnorm_variance, every reading is its echo)
                for f in running
            ]
        out += running
    ev = [r for r in bad if r.stage == "eval"]
    if ev and not core:
        r = ev[0]
        out.append(
            Finding(
                "layer_mismatch",
                ("forward",),
                None,
                k,
                f"your forward (inference) pass parts from PyTorch's eval mode at your running "
                f"statistics: max abs diff {r.max_abs:.3g} at {r.worst_index} "
                f"({r.scratch_value:.6g} vs {r.torch_value:.6g})",
                "in eval ('test') mode normalise with the running statistics and "
                + decl.eval_dropout(),
            )
        )
    return out


def _variant(ref, decl, core, P, B0, masks, fresh, X, y, loss, G, k, learner):  # noqa: ANN001
    """The first named wrong layer whose twin reproduces the learner's loss and gradients:
    each variant in every layer of its kind at once (one function of the learner's serves
    them all), then in one layer alone."""
    import torch

    stack = decl.spec.stack
    drops = [i for i, c in enumerate(stack) if c.name == "dropout"]
    loss_bad = any(r.stage == "loss" for r in core)
    gap = abs(loss - ref.run(P, B0, X, y, masks).loss) if loss_bad and loss is not None else 0.0
    forward = None
    kinds = list(dict.fromkeys(c.name for c in stack))
    for kind in kinds:
        where = [i for i, c in enumerate(stack) if c.name == kind]
        for j in range(len(variants(kind, torch.zeros(1)))):
            for group in [where, *([i] for i in where)] if len(where) > 1 else [where]:
                mods = {}
                for i in group:
                    nxt = None
                    if kind == "dropout" and fresh is not None:
                        nxt = torch.from_numpy(np.asarray(fresh[drops.index(i)]))
                    v = variants(kind, nxt)[j]
                    mods[i] = v.make(ref.twin.module[i])
                if any(m is None for m in mods.values()):
                    continue
                t = ref.run(P, B0, X, y, masks, replace=mods)
                if _reproduces(t, loss, G, gap):
                    return _named(ref, v, group, core, k, learner)
                if (
                    forward is None
                    and loss_bad
                    and _close(loss, t.loss)
                    and abs(loss - t.loss) <= EXPLAINED * gap
                ):
                    forward = (v, group)
    if forward is not None:  # the loss alone: a forward bug whose backward differs again
        f = _named(ref, *forward, core, k, learner)
        why = "PyTorch with that computation reproduces your loss (your forward pass)"
        return replace(f, evidence=f.evidence.split(";")[0] + f"; {why}")
    return None


def _named(ref, v, group, core, k, learner) -> Finding:  # noqa: ANN001
    kind = ref.decl.spec.stack[group[0]].name
    nums = [ref.net.slots[i].number or _below(ref, i) for i in group]
    label = "layer" if ref.net.slots[group[0]].number else f"{kind} after layer"
    where = f"{label}{'s' if len(nums) > 1 else ''} {', '.join(map(str, nums))}"
    where = f"{where} ({kind})" if label == "layer" else where
    tensors = [r.tensor for r in core]
    return Finding(
        v.code,
        tuple(_path(learner, n) for n in tensors),
        max(nums) or None,
        k,
        f"{where}: {v.what}; PyTorch with {'those layers' if len(nums) > 1 else 'that layer'} "
        f"computed so reproduces your loss and every gradient (first parted: "
        f"{', '.join(tensors[:4])})",
        v.fix,
    )


def _below(ref: LayeredRef, i: int) -> int:
    return max((s.number for s in ref.net.slots[:i] if s.number), default=0)


def _value_only(core: list[Record], G: dict) -> bool:
    """The loss value parts while the top layer's gradients agree: a value computed apart
    from the gradients (a sum where they are a mean's), not the forward pass."""
    grads = [int(layer_of(r.tensor) or 0) for r in core if r.stage == "grad"]
    loss = any(r.stage == "loss" for r in core)
    return loss and bool(grads) and max(int(layer_of(n) or 0) for n in G) > max(grads)


def _mismatch(ref, decl, core, G, T, k, learner) -> Finding:  # noqa: ANN001
    """The first tensor that parts in backpropagation order, with its layer and scale."""
    loss_bad = next((r for r in core if r.stage == "loss"), None)
    grads = [r for r in core if r.stage == "grad"]
    grads.sort(key=lambda r: (-int(layer_of(r.tensor) or 0), r.tensor))
    r = loss_bad or grads[0]  # a loss that parts: the forward pass, before any gradient
    n = int(layer_of(r.tensor) or 0) or None
    kind = ref.kind.get(n, "") if n else ""
    code, c, cos, rel = "layer_mismatch", None, None, ""
    if r.stage == "grad":
        a, e = G[r.tensor].ravel(), T.grads[r.tensor].ravel()
        ee = float(e @ e)
        if ee > 0 and float(a @ a) > 0:
            c = float(a @ e) / ee
            cos = float(a @ e) / np.sqrt(ee * float(a @ a))
            if cos > 1 - 1e-9:
                code = "scale_factor" if abs(c - 1) > 1e-6 else code
            elif cos < -1 + 1e-9:
                code = "sign_flip"
            rel = f"; c = {factor_text(c, 4, 'g')}, cos = {cos:.4f}"
    above = "the loss and every layer above agree" if not loss_bad else "the loss differs too"
    if r.stage == "loss":
        scaled = _scaled(loss_bad, G, T, learner)
        if scaled is not None:
            return scaled
        text = (
            f"the loss already parts ({r.scratch_value:.8g} vs PyTorch's {r.torch_value:.8g})"
            ": your forward pass differs"
        )
        hint = (
            "compare your forward pass layer by layer with the spec (check_layers, "
            "nnparity.reference.learner: each layer's forward held to PyTorch's)"
        )
        if "dropout" in ref.kind.values():  # the mask read after the pass: the forward's?
            text += (
                ", or the dropout mask read after your pass is not the one your forward used: "
                "a mask drawn again in backward replaces it"
            )
            hint += "; draw each dropout mask once, in forward, and use that one in backward"
        return Finding(code, ("loss",), None, k, text, hint)
    drop = _dropout_above(ref, n)
    own = [m for m in G if int(layer_of(m) or 0) == n]
    drop = drop if all(m in {g.tensor for g in grads} for m in own) else None  # mask: all
    extra = (
        f"; dropout layer {drop} sits just above: a backward that uses another mask than "
        "its forward parts here first"
        if drop and not loss_bad
        else ""
    )
    text = (
        f"first in backpropagation order: {_yours(learner, r.tensor)} of layer {n} ({kind}) "
        f"parts at step {k} "
        f"(max abs diff {r.max_abs:.3g} at {r.worst_index}: {r.scratch_value:.6g} vs "
        f"{r.torch_value:.6g}{rel}) while {above}{extra}"
    )
    hint = LAYER_HINTS.get(kind, "check this layer's backward")
    if code == "sign_flip":
        hint = f"{_path(learner, r.tensor)}'s gradient has the opposite sign: " + hint
    elif code == "scale_factor":
        times = factor_text(c, 4, "g")
        near = NEAR_ONE if abs(c - 1) < 1e-3 else "check the 1/N and the factors"
        hint = f"{_path(learner, r.tensor)}'s gradient is PyTorch's times {times}: {near}"
    handed = _handed_down(ref, n, G, T, c, {g.tensor for g in grads}) if c else None
    if handed is not None:
        what, layer = handed
        text += (
            f"; every gradient of layer {n} is PyTorch's times {factor_text(c, 4, 'g')} and every "
            "one below that "
            f"parts is a power of it, as when the gradient handed down to layer {n} is off by "
            f"that factor: it comes from the backward of {what} (or layer {n} scales its own "
            "dW, db and dx alike)"
        )
        hint = (
            f"check the dx that {what} returns"
            + (": its sign" if c < 0 else ": its 1/N and factors" if abs(c) != 1 else "")
            + (f" (layer_check(..., layer='{ref.kind[layer]}'))" if layer else "")
        )
        below = [m for m in {g.tensor for g in grads} if int(layer_of(m) or 0) < n]
        if below and all(  # each below parts by c itself, in a layer of n's kind: one function?
            ref.kind[int(layer_of(m) or 0)] == kind
            and np.isclose(_factor(G[m], T.grads[m]) or 0.0, c, rtol=1e-6)
            for m in below
        ):
            hint += (
                f"; or the backward every {kind} layer shares: each {kind} layer's dW and db "
                f"part by {factor_text(c, 4, 'g')} alone, as one function that scales them would"
            )
        n = layer or n
    else:
        hint += _dx_above(ref, n)
    return Finding(code, (_path(learner, r.tensor),), n, k, text, hint)


def _dx_above(ref: LayeredRef, n: int | None) -> str:
    """What hands layer ``n`` its gradient unseen, as the other place to look: the pooling
    between it and the next layer above that holds arrays (it routes the gradient), and that
    layer's dx (only its own gradients are compared, and they agree; a conv's dx that ignores
    its stride leaves its dw right and parts first in the layer below: review s18b)."""
    if n is None:
        return ""
    stack, slots, said = ref.decl.spec.stack, ref.net.slots, []
    for j in range(ref.index[n] + 1, len(slots)):
        name, m = stack[j].name, slots[j].number
        if name in ("maxpool", "avgpool"):
            check = " (layer_check(..., layer='maxpool'))" if name == "maxpool" else ""
            said.append(f"the {name} above, which routes its gradient{check}")
        elif m is not None:
            own = "" if name == "dropout" else "its own gradients agree, "
            said.append(
                f"the dx that {name} (layer {m}) hands down: {own}its dx is not seen "
                f"(layer_check(..., layer='{name}') holds it alone)"
            )
            break
    return "".join(f"; or {t}" for t in said)


def _handed_down(ref, n, G, T, c, failing) -> tuple[str, int | None] | None:  # noqa: ANN001
    """When every gradient of layer ``n`` is ``c`` times the twin's and every one below that
    parts is ``c**k`` times the twin's, the gradient layer ``n`` is handed is what is scaled
    (backpropagation is linear in it; a bug in layer n's own dW leaves the layers below alone;
    the same bug again lower down multiplies the factor): (the layers whose backward hands it
    down, from layer n up to the next layer with parameters, which agree, as text; that
    layer's number when it is the only one), else None."""
    own = [m for m in G if int(layer_of(m) or 0) == n]
    below = [m for m in failing if 0 < int(layer_of(m) or 0) < n]
    S = max(float(np.abs(g).max(initial=0.0)) for g in T.grads.values())
    if not below or not all(_close(G[m], c * T.grads[m], abs(c) * S) for m in own):
        return None
    if not all(_power_of(_factor(G[m], T.grads[m]), c) for m in below):
        return None  # a part below that is not c^k times PyTorch's: not what c handed down does
    slots, stack = ref.net.slots, ref.decl.spec.stack
    above = []
    for j in range(ref.index[n] + 1, len(slots)):
        num = slots[j].number
        above.append(f"{stack[j].name} (layer {num})" if num else stack[j].name)
        if num:
            break
    if not above:
        return None
    alone = slots[ref.index[n] + 1].number if len(above) == 1 else None
    return ", ".join(above), alone


def _factor(a: Array, e: Array) -> float | None:
    """c with a = c e (cosine 1 within 1e-6: a float32 learner's), else None."""
    pc = proportion(a, e)
    return None if pc is None or abs(pc[1]) < 1 - 1e-6 else pc[0]


def _power_of(f: float | None, c: float, most: int = 8) -> bool:
    """Whether ``f`` is ``c**k`` for a whole k from 1 to ``most`` (the same scaling met again
    by as many layers below: a batchnorm function used twice doubles twice)."""
    return f is not None and any(abs(f - c**k) <= 1e-3 * abs(c**k) for k in range(1, most + 1))


def explained(f: Finding) -> bool:
    """Whether a finding reproduces the learner's loss and every gradient from the twin (a
    named variant, L2, swapped names, one factor over everything), not only where it parts:
    with masks replayed at the nearest loss, only such a finding vouches for the masks."""
    generic = ("layer_mismatch", "scale_factor", "sign_flip", "batchnorm_running")
    return f.code not in generic or (f.code == "scale_factor" and f.params[:1] == ("loss",))


def _scaled(r: Record, G: dict, T: LStep, learner: Any) -> Finding | None:
    """``scale_factor`` when the loss and every gradient are the twin's times one factor c;
    with ``c * rows`` a whole number M other than the batch's rows, the mean is taken over M."""
    c = r.scratch_value / r.torch_value if r.torch_value else 0.0
    S = max(float(np.abs(g).max(initial=0.0)) for g in T.grads.values())
    if not c or abs(c - 1) < 1e-4 or not all(_close(G[n], c * T.grads[n], abs(c) * S) for n in G):
        return None  # (a factor this near 1 is a value's offset, an eps in a log: no scale)
    rows = len(T.out)
    m = rows / c
    why = ""
    if abs(m - round(m)) < 1e-6 * m and round(m) != rows:
        why = f": your loss divides by {round(m)} where this batch has {rows} rows"
    hint = (
        "average over the batch's own size (len(X) of the batch; the last batch can be "
        "shorter), not a fixed batch size or the dataset size"
    )
    if round(m) == 1 and "reduction" not in learner.decl.spec.loss.kwargs:
        hint = "if you sum over the batch on purpose, declare reduction='sum'; if not, " + hint
    return Finding(
        "scale_factor",
        ("loss", *(_path(learner, n) for n in G)),
        None,
        r.step,
        f"the loss and every gradient are PyTorch's times {c:.6g} (loss {r.scratch_value:.8g} "
        f"vs {r.torch_value:.8g}){why}",
        hint,
    )


def _dropout_above(ref: LayeredRef, n: int | None) -> int | None:
    if n is None:
        return None
    above = sorted(m for m in ref.kind if m > n)
    return above[0] if above and ref.kind[above[0]] == "dropout" else None
