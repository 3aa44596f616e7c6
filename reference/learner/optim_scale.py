"""Readings of a learner's steps that the optimizer variants alone would misname.

A step c times the declared one at every element, c near 1 (``lr_factor``): a learning rate
off by a fraction too small for a named factor (lr x (1 + 1e-5)), fitted as
c = sum <d_L, d_T> / sum <d_T, d_T> over the steps' weight changes d (learner L, torch T).

Gradients scaled by c under an adaptive optimizer (``scale_reading``): Adam, AdamW, RMSprop
and Adagrad without weight decay are invariant to g -> c g except through eps, since
m -> c m, v -> c^2 v and c m / (c sqrt(v) + eps) = m / (sqrt(v) + eps / c). A fitted
eps = eps_declared / c is then the same steps as gradients c times PyTorch's: both are named,
the gradient first when c is a batch-size-like factor (N, 1/N, a power of two). Under
weight decay (not scaled with g) no eps stands in: ``gradient_scale`` tries c = N, 1/N, 2, 1/2.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from .optim_variants import Sim, _cls, _declared, _excess, _fit_value, _flat

SAME_STEPS = "{cls}'s step is unchanged when g becomes c g and eps becomes eps / c"


def _lr(name: str, kw: dict[str, Any]) -> float:
    return float(kw.get("lr", {"sgd": 1e-3, "adam": 1e-3, "adamw": 1e-3}.get(name, 1e-2)))


def lr_factor(
    name: str, kw: dict[str, Any], seq: list, pairs: list, atol: float, rtol: float
) -> tuple[float, float] | None:
    """(c, declared lr) when the declared optimizer with lr x c reproduces ``seq`` and does
    so clearly better than the declared lr (worst excess under a quarter of the declared
    one's: not round-off); c is the least-squares ratio of the learner's weight changes to
    the declared ones (``pairs``: (d_L, d_T, ...)). None otherwise."""
    num = sum(float((dl * dr).sum()) for dl, dr, *_ in pairs)
    den = sum(float((dr * dr).sum()) for _, dr, *_ in pairs)
    if den <= 0.0 or not math.isfinite(num / den) or num / den <= 0.0 or num == den:
        return None
    c, lr = num / den, _lr(name, kw)
    fitted = _excess(Sim(name, {**kw, "lr": lr * c}), seq, atol, rtol, stop=1.0)
    if fitted <= 1.0 and fitted <= _excess(Sim(name, kw), seq, atol, rtol) / 4:
        return c, lr
    return None


def _clean(c: float, n: int) -> tuple[float, str] | None:
    """The batch-size-like factor (N, 1/N, 2^k) within 5% of ``c``, N first; else None."""
    if not (c > 0 and math.isfinite(c)):  # (a declared eps of 0 beside yours)
        return None
    options = [(float(n), "N"), (1.0 / n, "1/N")]
    options += [(2.0**k, f"2^{k}") for k in range(-12, 13) if k]
    near = [(v, nm) for v, nm in options if abs(math.log(c / v)) <= math.log(1.05)]
    return (
        min(near, key=lambda o: abs(math.log(c / o[0])) + (o[1][0] == "2") * 1e-9) if near else None
    )


def scale_reading(
    name: str, kw: dict[str, Any], found: list, seq: list, n: int, atol: float, rtol: float
) -> Callable[[str], tuple[str, str]] | None:
    """When ``found`` (``variant_search``) is another eps alone and gradients c = declared
    eps / fitted eps times ``seq``'s reproduce the steps too: a function of whose gradients
    they are giving (evidence, fix) that name both readings, the gradient's first when c is
    batch-size-like (``_clean``) and the eps is no power of ten (a typed 1e-5 comes first, a
    2^-10 that fits it within float32's tolerance second). None when the two readings are not
    the same steps."""
    if [key for key, _, _ in found] != ["eps_value"] or name == "sgd":
        return None
    flat, seg = _flat(seq)
    value = _fit_value(name, kw, ("eps_value",), "eps_value", flat, atol, rtol, seg)
    if not value:
        return None
    declared = _declared(name, kw, "eps")
    c = declared / value
    clean = _clean(c, n)
    c_use = clean[0] if clean else c
    scaled = [(P, {k: g * c_use for k, g in G.items()}, A) for P, G, A in seq]
    if _excess(Sim(name, kw), scaled, atol, rtol, stop=1.0) > 1.0:
        return None
    same = SAME_STEPS.format(cls=_cls(name))
    eps = f"{name} with eps = {value:.3g} where {declared:.3g} is declared"
    use_eps = f"use the declared eps = {declared:.3g}, or declare eps={value:.3g}"
    decade = abs(math.log10(value) - round(math.log10(value))) < 0.015  # eps = 1e-5: typed
    if clean and not (decade and clean[1].startswith("2^")):  # (a power of 2 only fits it)
        lab = f"{c_use:g}" + ("" if clean[1].startswith("2^") else f" = {clean[1]}")
        lab += f" (N = {n})" if "N" in clean[1] else ""

        def gradient_first(whose: str) -> tuple[str, str]:
            return (
                f"from {whose}, your post-step weights follow {name} fed with c = {lab} times "
                f"those gradients (a sum over the batch where the loss is a mean?), or the same "
                f"steps, {eps}: {same}",
                f"check your gradient's 1/N first (yours are c = {c_use:g} times PyTorch's); if "
                f"it is right, {use_eps}",
            )

        return gradient_first

    def eps_first(whose: str) -> tuple[str, str]:
        return (
            f"from {whose}, your post-step weights follow {eps}, or the same steps, {name} fed "
            f"with c = {c:.4g} times those gradients: {same}",
            f"{use_eps}; if eps is right, check that your gradients are not c = {c:.4g} times "
            "PyTorch's (a 1/N missing or doubled)",
        )

    return eps_first


def gradient_scale(
    name: str, kw: dict[str, Any], seq: list, n: int, atol: float, rtol: float
) -> tuple[float, str] | None:
    """(c, its name) when the declared adaptive optimizer fed with c times ``seq``'s
    gradients (its weight decay added after, as the optimizer adds it) reproduces the steps,
    for c among N, 1/N, 2, 1/2: a batch sum or a doubled loss under weight decay, where no
    eps stands in for it. None otherwise, and for SGD (a step factor there)."""
    if name == "sgd":
        return None
    for c, nm in ((float(n), "N"), (1.0 / n, "1/N"), (2.0, "2"), (0.5, "1/2")):
        scaled = [(P, {k: g * c for k, g in G.items()}, A) for P, G, A in seq]
        if _excess(Sim(name, kw), scaled, atol, rtol, stop=1.0) <= 1.0:
            return c, (f"{c:g} = {nm} (N = {n})" if "N" in nm else nm)
    return None


def short_batch_scale(
    name: str, kw: dict[str, Any], seq: list, obs: list, atol: float, rtol: float
) -> Callable[[str], tuple[str, str]] | None:
    """(whose -> (evidence, fix)) where the declared adaptive optimizer fed at each step with
    rows / B times ``seq``'s gradients (B the full batch's rows; ``obs`` the steps' observations,
    for their rows) reproduces the steps and a batch is shorter: a gradient divided by the full
    batch size where the last batch has fewer rows (under SGD the implied gradients show it; an
    adaptive step needs the replay, its state carrying the scaled gradient on; review s22).
    None otherwise."""
    rows = [len(o.rows) for o in obs]
    B = max(rows)
    if name == "sgd" or len(seq) != len(rows) or min(rows) == B:
        return None
    scaled = [
        (P, {k: g * (r / B) for k, g in G.items()}, A)
        for (P, G, A), r in zip(seq, rows, strict=True)
    ]
    if _excess(Sim(name, kw), scaled, atol, rtol, stop=1.0) > 1.0:
        return None
    short = next(o.step for o in obs if len(o.rows) < B)
    return lambda whose: (
        f"from {whose}, your post-step weights follow {name} fed with those gradients times "
        f"rows / B at each step: a mean over B = {B} rows where step {short}'s batch has "
        f"{min(rows)}",
        "your gradient divides by the full batch size where a shorter batch (the last) has "
        "fewer rows: divide by the rows of this batch, len(X)",
    )
