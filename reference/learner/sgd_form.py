"""Another SGD form than the declared one, read off a step that shows no gradient: the
learner's post-step weights under PyTorch's gradients at its weights, simulated under each
candidate form (momentum the declaration lacks, the other momentum form, none, a buffer that
averages the gradients from zero, weight decay outside the momentum, each gradient element
clipped to a bound)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from .evidence import to_tensors
from .optim_fixes import VARIANT_FIX
from .optim_forms import CLIP
from .optim_variants import EQUATION, VARIANTS, Sim, _applies, _follows
from .result import Finding

if TYPE_CHECKING:
    from nnparity.scratch import Spec

    from .codec import Codec


def explain_sgd_form(
    history: list,
    twin_grads: list[dict],
    spec: Spec,
    codec: Codec,
    first: int,
    atol: float,
    rtol: float,
    l2: float = 0.0,
    parting: list[str] | None = None,
) -> list[Finding]:
    """A style (c) step under declared SGD whose implied gradients part from PyTorch's: does
        another SGD form, fed with PyTorch's gradients at the learner's weights from step 1 on,
        reproduce the learner's post-step weights? Momentum the declaration lacks (its mu fitted
        from steps 1-2), Nesterov where classical momentum is declared, or the reverse, no
        momentum where some is declared, or a buffer averaging the gradients from zero (declared
        dampening: PyTorch's with lr (1 - dampening)), or the weight decay (or the declared ``l2``)
        applied to w outside the momentum (SGDW). Where none does and some parameters alone part
    (``parting``, canonical names), the forms are tried on those alone, the others following the
    declared one (nnfs's bias velocity never stored back: the biases' steps plain SGD). Empty when
    none does."""
    kw = dict(spec.opt.kwargs) | ({"_l2": l2} if l2 else {})
    seq = [
        (to_tensors(o.params), to_tensors(g), to_tensors(o.after))
        for o, g in zip(history, twin_grads, strict=True)
    ]
    seq = seq[: first - history[0].step + 3]
    lr, mu = float(kw.get("lr", 1e-3)), float(kw.get("momentum", 0.0) or 0.0)
    nesterov = bool(kw.get("nesterov", False))
    tries: list[tuple[dict, str]] = []
    outside = [  # forms read as a whole: a decay outside, the other lr_decay form, a
        v  # buffer shared by same-shaped parameters (review s25e F1, F3)
        for v in ("sgdw", "sgdw_l2", "torch_lr", "by_shape", "nesterov_mu2")
        if mu and _applies("sgd", v, kw, [])
    ]
    if _follows(Sim("sgd", kw), seq, atol, rtol):
        return []  # the declared form itself is within this resolution: no other is shown
    # a momentum added or removed leaves the first step as it is (the buffer starts at g)
    at_first = first == history[0].step
    if not mu and not at_first:
        fitted = _fit_mu(seq, lr, float(kw.get("weight_decay", 0.0) or 0.0))
        if fitted is not None:
            tries.append(
                (
                    {"momentum": fitted},
                    f"classical momentum mu = {fitted:.4g} (v = mu v - lr g; "
                    "w += v), where plain SGD is declared",
                )
            )
    else:
        other = "classical momentum" if nesterov else "Nesterov momentum"
        tries.append(
            (
                {"nesterov": not nesterov},
                f"{other} with mu = {mu:g}, where "
                f"{'Nesterov' if nesterov else 'classical'} momentum is declared",
            )
        )
        if not at_first:
            tries.append(
                (
                    {"momentum": 0.0, "nesterov": False},
                    f"plain SGD (no momentum), where momentum {mu:g} is declared: a velocity "
                    "computed but not kept between steps starts again at 0 each step",
                )
            )
        tau = float(kw.get("dampening", 0.0) or 0.0)
        if tau:  # b = mu b + (1 - tau) g from b = 0 is (1 - tau) times torch's b = mu b + g
            tries.append(
                (
                    {"lr": lr * (1 - tau), "dampening": 0.0},
                    f"b = mu b + (1 - dampening) g from b = 0 (an average of the gradients, "
                    f"Ng's course): PyTorch's SGD with lr = {lr * (1 - tau):.6g}, momentum "
                    f"{mu:g} and no dampening (PyTorch starts b at g itself)",
                )
            )

    def found(label: str, fix: str) -> list[Finding]:
        return [
            Finding(
                "optimizer_update_mismatch",
                codec.labels(list(seq[0][2])),
                None,
                first,
                f"from PyTorch's gradients at your weights, your steps follow {label}",
                fix,
            )
        ]

    for v in outside:  # named with its own fix
        if _follows(Sim("sgd", kw, v), seq, atol, rtol):
            label = next(lab for key, lab in VARIANTS["sgd"] if key == v)
            return found(
                f"sgd with {label}", f"{VARIANT_FIX[v]}; torch.optim.SGD: {EQUATION['sgd']}"
            )
    clip = _fit_clip(seq, lr)
    if clip is not None and _follows(Sim("sgd", {**kw, "_clip": clip}), seq, atol, rtol):
        return found(CLIP[1].format(value=clip), VARIANT_FIX["clip_value"].format(value=clip))
    for change, label in tries:
        kw2 = {**kw, **change}
        if _follows(Sim("sgd", kw2), seq, atol, rtol):
            fix = f"{_declare(kw, kw2)}, or change your update to the declared one"
            if change.get("momentum") == 0.0:  # the velocity's store forgotten first (s57 C2)
                kept = "store your velocity back where the next step reads it (self.v[k] = v)"
                fix = f"{kept}; or {fix}"
            return found(label, f"{fix}: {EQUATION['sgd']}")
    if not mu or at_first or not parting or not set(parting) < set(seq[0][2]):
        return []
    sub = [tuple({n: d[n] for n in parting if n in d} for d in step) for step in seq]
    if not _follows(Sim("sgd", {**kw, "momentum": 0.0, "nesterov": False}), sub, atol, rtol):
        return []
    said = ", ".join(codec.labels(parting))
    return [
        Finding(
            "optimizer_update_mismatch",
            codec.labels(parting),
            None,
            first,
            f"from PyTorch's gradients at your weights, the steps of {said} alone follow plain "
            f"SGD (no momentum: their velocity restarts at every step), where momentum {mu:g} "
            "is declared; the other parameters' follow it",
            f"give {said} a velocity kept from step to step as the others have (store it back "
            "after each step): the declared momentum applies to every parameter, as "
            f"torch.optim.SGD(model.parameters()) does; {EQUATION['sgd']}",
        )
    ]


def _declare(kw: dict, kw2: dict) -> str:
    """The declaration that takes the steps of ``kw2``, a form of ``kw``'s."""
    return (
        f"declare optimizer='sgd(momentum={kw2['momentum']:.4g}"
        + (",nesterov=true" if kw2.get("nesterov") else "")
        + ")'"
        + (f" and lr={kw2['lr']:.6g}" if kw2.get("lr") != kw.get("lr") else "")
        if kw2.get("momentum")
        else "declare optimizer='sgd'"
    )


def _fit_clip(seq: list, lr: float) -> float | None:
    """The bound of a clip of each gradient element: the largest step over lr at step 1, where
    it is below PyTorch's largest gradient (some element was cut to it)."""
    P, G, A = seq[0]
    top = max(float(((P[n] - A[n]) / lr).abs().max()) for n in G)
    most = max(float(G[n].abs().max()) for n in G)
    return top if 0 < top < most * (1 - 1e-6) else None


def _fit_mu(seq: list, lr: float, wd: float) -> float | None:
    """mu of classical momentum from steps 1-2: d_2 = g_2 + mu d_1 with d = (p - p') / lr."""
    if len(seq) < 2:
        return None
    num = den = 0.0
    (P1, G1, A1), (P2, G2, A2) = seq[:2]
    for n in G1:
        d1 = (P1[n] - A1[n]) / lr
        d2 = (P2[n] - A2[n]) / lr - wd * P2[n]
        r = d2 - G2[n]
        num += float((r * d1).sum())
        den += float((d1 * d1).sum())
    if den == 0.0 or not math.isfinite(num / den) or not 0.0 < num / den < 1.0:
        return None
    return num / den
