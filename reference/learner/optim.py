"""Optimizer variants a learner may have written instead of the declared torch optimizer, run
with torch tensors on the learner's own gradients so the post-step weights can be predicted.

``variant=None`` is torch 2.13's single-tensor update (``EQUATION``); the others
are the usual hand-written departures: eps inside the square root, Adam without bias
correction, weight decay left out or coupled the other way, SGD momentum with the buffer started
at (1 - dampening) g, dampening ignored, Nesterov where classical momentum is declared (or the
reverse). They are searched as combinations, smallest first (``MAX_PARTS`` at most): the first
combination that reproduces the learner's post-step weights is reported, with each part's fix.
"""

from __future__ import annotations

import math
from itertools import combinations
from typing import TYPE_CHECKING, Any

import torch

from .hypotheses import fit, to_tensors
from .result import Finding

if TYPE_CHECKING:
    from nnparity.scratch import Spec

    from .conventions import Codec

Tensor = torch.Tensor

VARIANTS: dict[str, list[tuple[str, str]]] = {
    "sgd": [
        ("no_decay", "weight decay left out"),
        ("damp_first", "momentum buffer started at (1 - dampening) g on the first step"),
        ("no_dampening", "dampening left out of the momentum buffer"),
        ("nesterov_flip", "the other momentum form (Nesterov vs classical)"),
        ("ema", "momentum as an average, b = mu b + (1 - mu) g"),
    ],
    "adam": [
        ("no_bias_correction", "no bias correction (m and v used raw)"),
        ("eps_inside", "eps inside the square root: sqrt(v_hat + eps)"),
        ("no_decay", "weight decay left out"),
        ("decoupled", "weight decay decoupled (AdamW's w *= 1 - lr wd) instead of added to g"),
    ],
    "adamw": [
        ("no_bias_correction", "no bias correction (m and v used raw)"),
        ("eps_inside", "eps inside the square root: sqrt(v_hat + eps)"),
        ("coupled", "weight decay added to the gradient (Adam's L2) instead of decoupled"),
    ],
    "rmsprop": [
        ("eps_inside", "eps inside the square root: sqrt(s + eps)"),
        ("no_decay", "weight decay left out"),
    ],
    "adagrad": [
        ("eps_inside", "eps inside the square root: sqrt(S + eps)"),
        ("no_decay", "weight decay left out"),
    ],
}


class Sim:
    """One optimizer (torch's, or a variant) stepping given parameters with given gradients."""

    def __init__(self, name: str, kw: dict[str, Any], variant: str | tuple[str, ...] | None = None):
        parts = (variant,) if isinstance(variant, str) else tuple(variant or ())
        self.name, self.kw, self.v = name, kw, frozenset(parts)
        self.t = 0
        self.s: dict[str, dict[str, Tensor]] = {}

    def _st(self, k: str, key: str, like: Tensor, fill: float = 0.0) -> Tensor:
        return self.s.setdefault(k, {}).setdefault(key, torch.full_like(like, fill))

    def step(self, P: dict[str, Tensor], G: dict[str, Tensor]) -> dict[str, Tensor]:
        self.t += 1
        return {k: self._one(k, P[k], g) for k, g in G.items()}

    def _one(self, k: str, p: Tensor, g: Tensor) -> Tensor:
        kw, v, t = self.kw, self.v, self.t
        lr = kw.get("lr", {"sgd": 1e-3, "adam": 1e-3, "adamw": 1e-3}.get(self.name, 1e-2))
        wd = kw.get("weight_decay", 1e-2 if self.name == "adamw" else 0.0)
        decoupled = (self.name == "adamw") != ("coupled" in v or "decoupled" in v)
        if wd and "no_decay" not in v and not decoupled:
            g = g + wd * p
        if self.name == "sgd":
            mu, tau = kw.get("momentum", 0.0), kw.get("dampening", 0.0)
            if mu:
                tau = 1 - mu if "ema" in v else (0.0 if "no_dampening" in v else tau)
                if t == 1:
                    b = (1 - tau) * g if ("damp_first" in v or "ema" in v) else g.clone()
                else:
                    b = mu * self.s[k]["b"] + (1 - tau) * g
                self.s.setdefault(k, {})["b"] = b
                nesterov = bool(kw.get("nesterov", False)) != ("nesterov_flip" in v)
                g = g + mu * b if nesterov else b
            return p - lr * g
        eps = kw.get("eps", 1e-10 if self.name == "adagrad" else 1e-8)
        if self.name in ("adam", "adamw"):
            b1, b2 = kw.get("beta1", 0.9), kw.get("beta2", 0.999)
            if decoupled and "no_decay" not in v:
                p = p * (1 - lr * wd)
            m = self._st(k, "m", p)
            m += (1 - b1) * (g - m)
            vv = self._st(k, "v", p)
            vv.mul_(b2).add_((1 - b2) * g * g)
            if kw.get("amsgrad", False):
                mx = self._st(k, "vmax", p)
                torch.maximum(mx, vv, out=mx)
                vv = mx
            bc1, bc2 = (1.0, 1.0) if "no_bias_correction" in v else (1 - b1**t, 1 - b2**t)
            if "eps_inside" in v:
                return p - lr * (m / bc1) / torch.sqrt(vv / bc2 + eps)
            return p - (lr / bc1) * m / (torch.sqrt(vv) / math.sqrt(bc2) + eps)
        if self.name == "rmsprop":
            a = kw.get("alpha", 0.99)
            s = self._st(k, "s", p)
            s.mul_(a).add_((1 - a) * g * g)
            avg = s
            if kw.get("centered", False):
                gb = self._st(k, "gb", p)
                gb += (1 - a) * (g - gb)
                avg = s - gb * gb
            d = torch.sqrt(avg + eps) if "eps_inside" in v else torch.sqrt(avg) + eps
            if kw.get("momentum", 0.0):
                b = self._st(k, "b", p)
                b.mul_(kw["momentum"]).add_(g / d)
                return p - lr * b
            return p - lr * g / d
        clr = lr / (1 + (t - 1) * kw.get("lr_decay", 0.0))
        S = self._st(k, "S", p, kw.get("initial_accumulator_value", 0.0))
        S += g * g
        d = torch.sqrt(S + eps) if "eps_inside" in v else torch.sqrt(S) + eps
        return p - clr * g / d


def explain_update(
    history: list,
    spec: Spec,
    codec: Codec,
    first: int,
    atol: float,
    rtol: float,
    twin_grads: list[dict] | None = None,
) -> list[Finding]:
    """Post-step weights that do not follow the declared optimizer from the learner's own
    gradients: a constant factor on the step (sign, lr), or a named optimizer variant.
    ``twin_grads`` (one dict per observation): the learner exposes no gradient (a style (c)
    step with a stateful optimizer), so PyTorch's gradients at the learner's weights stand in
    for them; a step no variant reproduces then cannot be told from a gradient bug."""
    name, kw = spec.opt.name, dict(spec.opt.kwargs)
    grads = twin_grads or [o.grads for o in history]
    seq = [
        (to_tensors(o.params), to_tensors(g), to_tensors(o.after))
        for o, g in zip(history, grads, strict=True)
    ]
    whose = "PyTorch's gradients at your weights" if twin_grads else "your gradients"
    true = Sim(name, kw)
    pred = [true.step(P, G) for P, G, _ in seq]
    k = first - history[0].step
    pairs = []
    for (P, _, A), Q in zip(seq[k : k + 3], pred[k : k + 3], strict=False):
        for n in A:
            if n in Q:
                dl, dr = A[n] - P[n], Q[n] - P[n]
                s = max(float(dr.abs().max()), 1e-300)
                pairs.append((dl, dr, atol * s, rtol))
    names = [
        (1.0, "1"),
        (-1.0, "-1"),
        (2.0, "2"),
        (0.5, "1/2"),
        (float(len(history[0].rows)), "N"),
        (1 / len(history[0].rows), "1/N"),
    ]
    f = fit(pairs, names, ref_zero=True)  # the prediction here is the declared step itself
    names_ = codec.labels(list(seq[0][2]))
    if f.ok and f.factor == "-1":
        return [
            Finding(
                "sign_flip",
                names_,
                None,
                first,
                f"the step taken is -1 times the "
                f"declared optimizer's step from {whose}: {f.text(0, 0)}",
                "subtract the update: w -= lr * step",
            )
        ]
    if f.ok and f.factor != "1":
        return [
            Finding(
                "optimizer_update_mismatch",
                names_,
                None,
                first,
                f"the step taken is c times the declared optimizer's (from {whose}): "
                f"{f.text(0, 0)}",
                "use the declared learning rate, or declare the one you use",
            )
        ]
    found = variant_search(name, kw, seq[: k + 3], atol, rtol)
    if found:
        labels = " and ".join(lab for _, lab in found)
        fixes = "; ".join(
            f"({i}) {VARIANT_FIX.get(key, key)}" for i, (key, _) in enumerate(found, 1)
        )
        return [
            Finding(
                "optimizer_update_mismatch",
                names_,
                None,
                first,
                f"from {whose}, your post-step weights follow {name} with {labels}"
                + (f" ({len(found)} departures together)" if len(found) > 1 else ""),
                f"{fixes}; torch.optim.{_cls(name)}: {EQUATION[name]}",
            )
        ]
    if name != "sgd":
        lr = float(kw.get("lr", 1e-3))
        for other, label in ((Sim("sgd", {"lr": lr}), "plain SGD (w -= lr * g)"),):
            if _follows(other, seq[: k + 3], atol, rtol):
                return [
                    Finding(
                        "optimizer_update_mismatch",
                        names_,
                        None,
                        first,
                        f"from {whose}, your post-step weights follow {label} with lr = {lr:g}, "
                        f"not the declared {name}",
                        f"declare optimizer='sgd', or write the {name} update: {EQUATION[name]}",
                    )
                ]
    if twin_grads:
        return [
            Finding(
                "unexplained_mismatch",
                names_,
                None,
                first,
                "your post-step weights part from PyTorch's, and no known "
                f"{name} variant fed with PyTorch's gradients at your weights reproduces them; "
                "your step exposes no gradient, so a gradient bug cannot be told apart from "
                "an update bug",
                "expose your gradients (from_gradients with step=...) to separate the two",
            )
        ]
    return [
        Finding(
            "optimizer_update_mismatch",
            names_,
            None,
            first,
            "from your own gradients the declared optimizer gives other post-step "
            f"weights than yours, and no known {name} variant reproduces them",
            f"compare your update line by line with torch.optim.{_cls(name)}",
        )
    ]


MAX_PARTS = 3
VARIANT_FIX = {
    "no_bias_correction": "divide m by 1 - b1^t and v by 1 - b2^t (bias correction)",
    "eps_inside": "add eps after the square root: sqrt(v_hat) + eps",
    "no_decay": "apply the declared weight_decay",
    "decoupled": "add wd * w to the gradient (Adam's L2), or declare optimizer='adamw'",
    "coupled": "decay the weights apart from the gradient: w *= 1 - lr * wd (AdamW)",
    "damp_first": "start the momentum buffer at g itself on the first step",
    "no_dampening": "scale the gradient by (1 - dampening) in the buffer, or declare dampening=0",
    "nesterov_flip": "use the declared momentum form (or declare nesterov the other way)",
    "ema": "accumulate b = mu b + g (PyTorch's SGD), or declare dampening=mu",
}


def variant_search(
    name: str, kw: dict[str, Any], seq: list, atol: float, rtol: float
) -> list[tuple[str, str]]:
    """The smallest combination of ``VARIANTS[name]`` (one part, then two, then three) whose
    simulation reproduces every post-step weight of ``seq``; [] when none does."""
    options = [(key, label) for key, label in VARIANTS.get(name, []) if _applies(name, key, kw)]
    for n in range(1, MAX_PARTS + 1):
        for combo in combinations(options, n):
            if _follows(Sim(name, kw, tuple(key for key, _ in combo)), seq, atol, rtol):
                return list(combo)
    return []


def _applies(name: str, key: str, kw: dict[str, Any]) -> bool:
    """Whether variant ``key`` can change anything under the declared ``kw``."""
    wd = kw.get("weight_decay", 1e-2 if name == "adamw" else 0.0)
    if key in ("no_decay", "decoupled", "coupled"):
        return bool(wd)
    if key in ("damp_first", "no_dampening"):
        return bool(kw.get("momentum")) and bool(kw.get("dampening"))
    if key in ("nesterov_flip", "ema"):
        return bool(kw.get("momentum"))
    return True


def explain_sgd_form(
    history: list,
    twin_grads: list[dict],
    spec: Spec,
    codec: Codec,
    first: int,
    atol: float,
    rtol: float,
) -> list[Finding]:
    """A style (c) step under declared SGD whose implied gradients part from PyTorch's: does
    another SGD form, fed with PyTorch's gradients at the learner's weights from step 1 on,
    reproduce the learner's post-step weights? Momentum the declaration lacks (its mu fitted
    from steps 1-2), Nesterov where classical momentum is declared, or the reverse, or no
    momentum where some is declared. Empty when none does."""
    kw = dict(spec.opt.kwargs)
    seq = [
        (to_tensors(o.params), to_tensors(g), to_tensors(o.after))
        for o, g in zip(history, twin_grads, strict=True)
    ]
    seq = seq[: first - history[0].step + 3]
    lr, mu = float(kw.get("lr", 1e-3)), float(kw.get("momentum", 0.0) or 0.0)
    nesterov = bool(kw.get("nesterov", False))
    tries: list[tuple[dict, str]] = []
    if not mu:
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
        tries.append(
            (
                {"momentum": 0.0, "nesterov": False},
                f"plain SGD (no momentum), where momentum {mu:g} is declared",
            )
        )
    for change, label in tries:
        kw2 = {**kw, **change}
        if _follows(Sim("sgd", kw2), seq, atol, rtol):
            fix = (
                f"declare optimizer='sgd(momentum={kw2['momentum']:.4g}"
                + (",nesterov=true" if kw2.get("nesterov") else "")
                + ")'"
                if kw2.get("momentum")
                else "declare optimizer='sgd'"
            )
            return [
                Finding(
                    "optimizer_update_mismatch",
                    codec.labels(list(seq[0][2])),
                    None,
                    first,
                    f"from PyTorch's gradients at your weights, your steps follow {label}",
                    f"{fix}, or change your update to the declared one: {EQUATION['sgd']}",
                )
            ]
    return []


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


def _follows(sim: Sim, seq: list, atol: float, rtol: float) -> bool:
    """Whether ``sim`` fed with the gradients of ``seq`` reproduces every post-step weight."""
    ok = True
    for P, G, A in seq:
        Q = sim.step(P, G)
        ok = ok and all(
            bool(
                (
                    (A[n] - Q[n]).abs()
                    <= atol * max(float((Q[n] - P[n]).abs().max()), 1e-300) + rtol * Q[n].abs()
                ).all()
            )
            for n in A
        )
    return ok


EQUATION = {
    "sgd": "b = mu b + (1 - dampening) g (b = g on the first step), w -= lr * b "
    "(nesterov: w -= lr * (g + mu b)); weight_decay adds wd * w to g first",
    "adam": "m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g^2, "
    "w -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)",
    "adamw": "w *= 1 - lr * wd, then m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g^2, "
    "w -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)",
    "rmsprop": "s = alpha s + (1 - alpha) g^2, w -= lr * g / (sqrt(s) + eps)",
    "adagrad": "S += g^2, w -= lr * g / (sqrt(S) + eps)",
}


def _cls(name: str) -> str:
    return {
        "sgd": "SGD",
        "adam": "Adam",
        "adamw": "AdamW",
        "rmsprop": "RMSprop",
        "adagrad": "Adagrad",
    }[name]
