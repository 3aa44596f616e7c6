"""Name the bug: turn the first mismatching steps into findings (LEARNER_BUGS.md codes).

Forward outputs are tested against single-layer forward bugs (weights transposed, bias not
added, another activation); gradients against the hypothesis search of ``hypotheses``;
post-step weights, when the gradients are the learner's own, against the optimizer variants of
``optim``. A mismatch no hypothesis reproduces within tolerance is reported as
``unexplained_mismatch`` with where it is and how far off, and never as a class.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import torch

from .diag_texts import CANCELLED, DERIV_HINT, FORM_HINT, PART, PRIME, TOTAL_ZERO, cancels
from .hypotheses import ZERO_SUMS, Fit, LayerChoice, Search, StepData
from .not_bugs import CONVENTIONS, saturated
from .one_factor import c_cos, one_factor
from .result import Finding
from .scale import late_factor, scale_findings
from .scale import span as span_of
from .weight_line import bias_as_weight, weight_line

if TYPE_CHECKING:
    from nnparity.scratch import Spec

    from .codec import Codec
    from .torch_side import Reference

Tensor = torch.Tensor


def explain_gradients(
    steps: list[StepData],
    ref: Reference,
    codec: Codec,
    failing: dict[str, int],
    implied: bool,
    shown: dict[str, float] | None = None,
) -> list[Finding]:
    """Findings for the failing gradients (``failing``: name -> first bad step; ``shown``:
    name -> how far a factor c could have shown before it, ``shown_before``)."""
    spec = ref.spec
    acts = [(a.name, m) for a, m in zip(spec.activations, ref.acts, strict=True)]
    bias_layers = {int(n[1:]) for n in steps[0].g if n[0] == "b"}
    choices = Search(steps, acts, spec.sizes, bias_layers).run()
    found = findings_from(choices, codec, failing, steps, spec, implied, ref.l2, shown)
    return (implied and one_factor(found, steps, failing, codec)) or found


def shown_before(
    history: list, failing: dict[str, int], atol: float, floor: float = 0.0
) -> dict[str, float]:
    """For each gradient that parted after step 1, max over the steps before of max |PyTorch's|
    over ``atol`` times the step's largest gradient (at least ``floor``: float16's gradients
    are judged on a scale of at least 1): a factor c showed there when |c - 1| times this
    exceeds 1 (a gradient that was 0 at step 1, the input a zero row, shows none; a float16
    one below its absolute tolerance neither: review s30a F6, a sign flip said as no factor)."""
    out = {}
    for k, st in failing.items():
        r = 0.0
        for _, rs, _ in history[: st - 1]:
            top = max((float(np.abs(v).max(initial=0.0)) for v in rs.grads.values()), default=0.0)
            r = max(
                r, float(np.abs(rs.grads[k]).max(initial=0.0)) / (atol * max(top, floor) or atol)
            )
        out[k] = r
    return out


def findings_from(
    choices: list[LayerChoice],
    codec: Codec,
    failing: dict[str, int],
    steps: list[StepData],
    spec: Spec,
    implied: bool,
    l2: float = 0.0,
    shown: dict[str, float] | None = None,
) -> list[Finding]:
    out: list[Finding] = []
    lab = codec.label
    ns = tuple(s.a[0].shape[0] for s in steps)
    n, d = (ns[0] if len(set(ns)) == 1 else ns), spec.sizes[-1]
    agreed = {k for k, st in failing.items() if st > 1}  # passed before: a factor shows at once
    span = span_of(steps)
    L = spec.n_layers
    scales: dict[str, list[tuple[str, Fit]]] = {}
    for ch in choices:
        l = ch.layer
        below = [k for k in failing if int(k[1:]) <= l]
        if not below:
            continue
        mine = [k for k in failing if int(k[1:]) == l] or below
        first = min(failing[k] for k in below)
        names = codec.labels(mine)
        w = ch.fits.get(f"W{l}") or next(iter(ch.fits.values()), None)
        ftext = w.text(n, d) if w else ""
        if ch.deriv.code and len(ch.unexplained) < len(ch.fits) + len(ch.unexplained):
            where = "the output layer" if l == L else f"layer {l}"
            act = spec.activations[l - 1].name
            logits = ch.deriv.code == "softmax_axis" or ch.deriv.key.startswith("softmax_diag")
            if logits:  # the logits' layer: the softmax is in the loss
                act = "softmax + cross-entropy"
            elif l == L and ch.deriv.key in steps[0].alt_dz:  # the output's gradient: the loss's
                loss = spec.loss.name
                act = "softmax + cross-entropy" if loss == "cross_entropy" else f"{act} + {loss}"
            extra = ""
            if ch.deriv.key == "target_mean" and w is not None and w.factor == "N":
                extra = (
                    "; c = N: the (N, N) array summed over its second axis, not averaged "
                    "(the same bug: it reaches every layer below with the same factor)"
                )
            if (
                l == L
                and ch.deriv.key == "missing"
                and spec.activations[-1].name == "sigmoid"
                and not all(s.loss_agrees for s in steps)  # a loss value of the declared
            ):  # loss: bce is not what the code computes
                extra = (
                    "; (a - y) without sigma' is exactly the gradient of binary "
                    "cross-entropy on logits: if that is your loss, declare loss='bce'"
                )
            out.append(
                Finding(
                    ch.deriv.code,
                    names,
                    l,
                    first,
                    f"your gradients of {', '.join(names)} match PyTorch's recomputed with "
                    f"{ch.deriv.label}, at {where} ({act}): "
                    f"{ftext}{span}{extra}",
                    (
                        CANCELLED
                        if cancels(spec, l, ch.deriv.key)
                        else DERIV_HINT.get(ch.deriv.key, DERIV_HINT[ch.deriv.code])
                    )  # fmt: skip
                    + (
                        f" (for {act}: {PRIME[act]})"
                        if act in PRIME and ch.deriv.code != "broadcast_shape"
                        else ""
                    )
                    + ("; it reaches every layer below" if l > 1 else ""),
                )
            )
        if ch.wback in ("new", "da_new"):
            out.append(
                Finding(
                    "updated_weights_used",
                    names,
                    l,
                    first,
                    f"your gradients of {', '.join(names)} match PyTorch's recomputed with "
                    f"{lab(f'W{l + 1}')} "
                    f"after its update: {ftext}{span}",
                    "compute every layer's gradient before updating any weights (keep "
                    f"{lab(f'W{l + 1}')} from before the step for backprop)",
                )
            )
        if ch.wback == "none":
            out.append(
                Finding(
                    "broadcast_shape",
                    names,
                    l,
                    first,
                    f"your gradients of {', '.join(names)} match PyTorch's recomputed with the "
                    f"error handed down to layer {l} without {lab(f'W{l + 1}')}: the output's "
                    "dz of one column broadcast over the units (d * f'(z) where d @ W.T * f'(z) "
                    f"belongs; the shapes fit, so nothing raised): {ftext}{span}",
                    "hand the error down through the weight: "
                    + (
                        f"dz_{l} = (dz_{l + 1} @ {lab(f'W{l + 1}')}.T) * f'(z_{l})"
                        if codec.layout != "out_in"
                        else f"dz_{l} = ({lab(f'W{l + 1}')}.T @ dz_{l + 1}) * f'(z_{l})"
                    ),
                )
            )
        if ch.wback == "first":
            out.append(
                Finding(
                    "stale_weights_used",
                    names,
                    l,
                    first,
                    f"your gradients of {', '.join(names)} match PyTorch's recomputed with "
                    f"{lab(f'W{l + 1}')} as it was at step 1: the error reaches layer {l} "
                    f"through a copy taken before training: {ftext}{span}",
                    f"propagate through the current {lab(f'W{l + 1}')} at every step: compute "
                    "W.T inside the backward pass, never keep a copy of it (.copy() or a "
                    "transposed array saved in __init__)",
                )
            )
        if ch.wback in ("da", "da_new"):
            up_act = spec.activations[l].name
            out.append(
                Finding(
                    "wrong_activation_derivative",
                    names,
                    l,
                    first,
                    f"the error reaches layer {l} as layer {l + 1}'s dL/da through "
                    f"{lab(f'W{l + 1}')}, without layer {l + 1}'s derivative ({up_act}'): "
                    f"your gradients of {', '.join(names)} match PyTorch's recomputed so: "
                    f"{ftext}{span}",
                    f"hand down layer {l + 1}'s delta, dL/da times its derivative: "
                    + (
                        f"da_{l} = dz_{l + 1} @ {lab(f'W{l + 1}')}.T"
                        if codec.layout != "out_in"
                        else f"da_{l} = {lab(f'W{l + 1}')}.T @ dz_{l + 1}"
                    )
                    + " (iamtrask's l1_error = l2_delta.dot(syn1.T), not l2_error.dot(syn1.T))",
                )
            )
        if ch.wback == "out":
            out.append(
                Finding(
                    "wrong_cached_activation",
                    names,
                    l,
                    first,
                    f"the error reaches layer {l} as layer {l + 1}'s output a_{l + 1} through "
                    f"{lab(f'W{l + 1}')}, where its delta dz_{l + 1} belongs: your gradients of "
                    f"{', '.join(names)} match PyTorch's recomputed so: {ftext}{span}",
                    f"hand down layer {l + 1}'s delta (its error times its derivative), not its "
                    "output (Brownlee's error += neuron['weights'][j] * neuron['delta'])",
                )
            )
        if ch.wback == "T":
            out.append(
                Finding(
                    "transposed",
                    names,
                    l,
                    first,
                    f"the error reaches layer {l} through {lab(f'W{l + 1}')} transposed: "
                    f"{ftext}{span}",
                    "propagate with da_prev = W.T @ dz (W stored (out, in), samples as columns)"
                    if codec.layout == "out_in"
                    else "propagate with da_prev = dz @ W.T (W stored (in, out))",
                )
            )
        for k, form in ch.forms.items():
            if form.code and k in failing:
                ft, zero = ch.fits[k].text(n, d), ch.fits[k].zero
                said = ft if zero else f"your gradient is that form's ({ft} against it)"
                out.append(
                    Finding(
                        form.code,
                        (lab(k),),
                        l,
                        failing[k],
                        f"{k}: {form.label}: {said}{span}"
                        + (TOTAL_ZERO if zero and form.key in ZERO_SUMS else ""),
                        FORM_HINT.get(
                            form.key,
                            FORM_HINT.get(f"{form.code} {codec.layout}", FORM_HINT[form.code]),
                        ),
                    )
                )
        for k, f in ch.fits.items():
            if k in failing and f.factor != "1":
                seen = abs(f.c - 1) * (shown or {}).get(k, math.inf) > 1  # it would have shown
                if k in agreed and seen and "N/B" not in (f.factor or ""):  # N/B: 1 on full
                    # batches; matched at steps 1..st-1: no constant factor is consistent
                    out.append(late_factor(k, lab(k), failing[k], f, n, d, span, l))
                else:
                    scales.setdefault(f"{f.c:.6g} {f.cs}", []).append((k, f))
        for k in ch.unexplained:
            if k in failing and (
                named := weight_line(k, l, L, failing, steps, lab)
                or bias_as_weight(k, l, failing, steps, lab)
            ):
                out.append(named)
            elif k in failing:
                f = unexplained(k, lab(k), failing[k], steps, "grad", l, codec)
                out.append(replace(f, evidence=f.evidence + _where(k, l, L, failing, steps, lab)))
    backward = all(s.loss_agrees for s in steps)
    absorbed = {  # np.sum over the broadcast (N, N) array's axis: its N is that bug's own
        f"{f.c:.6g} {f.cs}"
        for ch in choices
        if ch.deriv.key == "target_mean"
        for f in ch.fits.values()
        if f.factor == "N"
    }
    for key, group in scales.items():
        if key in absorbed:
            continue
        out += scale_findings(group, codec, failing, n, d, span, spec, implied, PART * bool(l2),
                              backward)  # fmt: skip
    if not out and all(not ch.unexplained for ch in choices):
        for test, code, said, hint in CONVENTIONS:  # differences that are not bugs
            ch = next((c for c in choices if test(c.deriv.key)), None)
            if ch is not None:
                evidence = (
                    f"your gradients match PyTorch's with {said.format(ch.deriv.label, span)}"
                    + saturated(steps[0], ch.deriv.key)
                )
                labels = codec.labels(list(failing))
                return [
                    Finding(code, labels, ch.layer, min(failing.values()), evidence, hint, "note")
                ]
    return out


def _where(k: str, l: int, L: int, failing: dict, steps: list, lab: Callable) -> str:
    """Where the error enters, when the gradients around ``k`` agree: layer l's bias (so dz_l
    sums right: dW_l's input or product is not, or dz_l's rows are not), layer l's weights (so
    dz_l is right: the bias's own line is not), or every layer above (so it is what reaches
    layer l)."""
    if k[0] == "W" and f"b{l}" in steps[0].g and f"b{l}" not in failing:
        return (
            f"; {lab(f'b{l}')} agrees, so dz{l}'s sum over the batch is right: what parts is "
            f"how dW{l} is built from dz{l} (the cached input a{l - 1}, or the product's order), "
            f"or dz{l} row by row (each sample's error; its sum can hide a wrong target)"
        )
    if k[0] == "b" and f"W{l}" in steps[0].g and f"W{l}" not in failing:
        return (
            f"; {lab(f'W{l}')} agrees, so dz{l} is right: what parts is {lab(k)}'s own line, "
            f"how dz{l} is summed over the batch into it (the axis, a factor or a term of its "
            "own, another layer's or another variable's dz copied in)"
        )
    if l < L and not any(int(n[1:]) > l for n in failing):
        above = ", ".join(lab(n) for n in steps[0].g if int(n[1:]) > l)
        return (
            f"; the gradients above agree ({above}), so the error enters at layer {l}: the "
            f"gradient handed down to it through {lab(f'W{l + 1}')}, its derivative f'(z{l}), "
            "or its cached input"
        )
    return ""


def unexplained(
    k: str,
    label: str,
    step: int,
    steps: list[StepData],
    stage: str,
    layer: int | None,
    codec: Codec | None = None,
) -> Finding:
    """``unexplained_mismatch`` for ``k``, with how far it is from PyTorch's at ``step``."""
    s = next((x for x in steps if x.step == step), steps[0])
    g, e = s.g[k].double(), s.ref[k].double()
    diff = (g - e).abs()
    where = tuple(int(i) for i in np.unravel_index(int(diff.argmax()), tuple(diff.shape)))
    where = codec.own(k, where) if codec is not None else where  # in the learner's layout
    c, cos = c_cos(g, e)
    zeros = ""
    if not bool(g.any()) and bool(e.any()):
        zeros = (
            f"your gradient of {label} is all zeros where PyTorch's is not (never computed, or "
            "multiplied by a mask that is never true: a ReLU mask read as (a < 0) "
            "off the layer's output, a derivative taken at the wrong cache); "
        )
    few = _few(diff, e, s.atol.get(k, 0.0), s.rtol, k, codec)
    return Finding(
        "unexplained_mismatch",
        (label,),
        layer,
        step,
        f"{zeros}the {'gradient' if stage == 'grad' else stage} of {label} parts from "
        f"PyTorch's at step {step} (c = {c:.4f}, "
        f"cos = {cos:.4f}, max |diff| = {float(diff.max()):.3g} at {where}) and no candidate "
        f"bug reproduces it within tolerance{few}",
        "print your gradient beside a finite-difference estimate for this parameter, term by term",
    )


def _few(
    diff: torch.Tensor, e: torch.Tensor, atol: float, rtol: float, k: str, codec: Codec | None
) -> str:
    """``; only 1 of 4 entries parts, at (1, 0): ...`` where at most a quarter of the entries,
    and fewer than a row or a column of a matrix (one input's or one unit's: a product's
    operand), are outside tolerance: a slip in the lines of those entries (one weight's
    formula written out by hand, an index copied from the line above: review s19a), not in a
    whole product."""
    out = diff > atol + rtol * e.abs()
    n, size = int(out.sum()), diff.numel()
    most = min(diff.shape) - 1 if diff.dim() == 2 else size // 4  # less than a row or column
    if size < 4 or not 0 < n <= min(most, size // 4):
        return ""
    at = [tuple(int(i) for i in np.unravel_index(j, tuple(diff.shape)))
          for j in np.flatnonzero(out.reshape(-1).numpy())[:3]]  # fmt: skip
    at = [codec.own(k, w) if codec is not None else w for w in at]
    return (
        f"; only {n} of {size} entries part{'s' if n == 1 else ''}, at "
        f"{', '.join(map(str, at))}{', ...' if n > 3 else ''}, and every other agrees: "
        "the slip is in what computes those entries (a formula written out per weight, an "
        "index or a copied line), not in a whole product"
    )
