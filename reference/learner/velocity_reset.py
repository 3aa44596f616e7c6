"""A momentum velocity that restarts from zero now and then (review s18b: a hidden SGD step
that zeroed its velocity every 5 calls, an "epoch" counter of its own, parted at step 6 as an
unexplained gradient). Under classical momentum a step moves the weights by lr b, so each
step's b is read off the weights, (p - p') / lr; a restart is a step whose b is the gradient
alone (with the declared weight decay) where it should be mu b_prev + (1 - dampening) g, the
gradients PyTorch's at the learner's weights. Named where the first failing step is one."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from nnparity.scratch.schedules import lr_at, mu_at, of

from .codec import canonical_key
from .result import Finding

if TYPE_CHECKING:
    from nnparity.scratch import Spec

    from .codec import Codec


def explain_velocity_reset(
    history: list, twin_grads: list[dict], spec: Spec, codec: Codec, first: int, atol: float,
    rtol: float,
) -> list[Finding]:  # fmt: skip
    """``optimizer_update_mismatch`` naming the steps at which the velocity restarted, where
    the first failing step is one of them; else []. Classical SGD momentum only."""
    kw = spec.opt.kwargs
    mu, tau = float(kw.get("momentum", 0.0)), float(kw.get("dampening", 0.0))
    lr, wd = float(kw.get("lr", 1e-3)), float(kw.get("weight_decay", 0.0))
    if spec.opt.name != "sgd" or not mu or kw.get("nesterov"):
        return []
    sched, outside = of(kw), bool(kw.get("lr_outside", False))  # a declared schedule: each
    # step's b = (p - p') / lr_t, mu_t as the declared form holds it (review s47 F3)
    if not history or history[0].step != 1 or any(o.after is None for o in history):
        return []
    restarts, prev = [], None
    for o, g in zip(history, twin_grads, strict=False):
        names = [k for k in o.after if k in g]
        p = {k: np.asarray(o.params[k], float) for k in names}
        lr_t = lr_at(lr, sched, o.step - 1)
        b = {k: (p[k] - np.asarray(o.after[k], float)) / lr_t for k in names}
        gw = {k: np.asarray(g[k], float) + wd * p[k] for k in names}
        if prev is not None:
            mu_t = mu if outside or not sched else mu_at(mu, sched, o.step - 1)
            keep = {k: mu_t * prev[k] + (1 - tau) * gw[k] for k in names}
            if not _close(b, keep, atol, rtol):
                if not _close(b, gw, atol, rtol):
                    break  # neither: something else, said elsewhere
                restarts.append(o.step)
        prev = b
    if first not in restarts:
        return []
    every = {b - a for a, b in zip([1, *restarts], restarts, strict=False)}
    period = f" (every {every.pop()} steps)" if len(restarts) > 1 and len(every) == 1 else ""
    shown = ", ".join(map(str, restarts))
    return [
        Finding(
            "optimizer_update_mismatch",
            codec.labels(sorted(history[0].after, key=canonical_key)),
            None,
            first,
            f"your momentum velocity restarts from zero at step{'s' if len(restarts) > 1 else ''}"
            f" {shown}{period}: there your step is lr times the gradient alone (PyTorch's at "
            f"your weights), where sgd(momentum={mu:g}) takes mu b + g",
            "keep the velocity from step to step: reset it (or rebuild the optimizer) only when "
            "training starts, not at each epoch or every few calls",
        )
    ]


def _close(a: dict, b: dict, atol: float, rtol: float) -> bool:
    scale = max((float(np.abs(v).max(initial=0.0)) for v in b.values()), default=0.0)
    return all(np.allclose(a[k], b[k], rtol=rtol, atol=atol * max(scale, 1e-300)) for k in a)
