"""Torch's optimizer updates and the hand-written variants of them, simulated on tensors."""

from __future__ import annotations

import math
from itertools import combinations
from typing import Any

import torch

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
