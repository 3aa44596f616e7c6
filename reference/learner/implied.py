"""Gradients implied by a step that shows none (style c): from the weights before (p) and
after (p') one step of the declared SGD: d = (p - p') / lr; without momentum g = d; with
momentum mu, dampening tau, the buffer b = d and g = (d - mu b_prev) / (1 - tau) (g = d on the
first step); nesterov: g = (d - mu^2 b_prev) / (1 + mu); finally g -= weight_decay p.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def imply(obs: Any, opt_name: str, opt: dict, lr: float, buf: dict, codec: Any) -> None:
    """Set ``obs.grads`` (and ``implied``, ``noise``) to the gradients one step of the declared
    SGD implies (see the module); ``buf``: the momentum buffers read so far, updated."""
    if opt_name != "sgd":
        return
    mu = float(opt.get("momentum", 0.0))
    tau = float(opt.get("dampening", 0.0))
    wd = float(opt.get("weight_decay", 0.0))
    nesterov = bool(opt.get("nesterov", False))
    eps = float(np.finfo(codec.dtype).eps)
    grads, noise = {}, {}
    for k, p in obs.params.items():
        if k in codec.frozen:
            continue
        p64, q64 = p.astype(np.float64), obs.after[k].astype(np.float64)
        with np.errstate(all="ignore"):
            d = (p64 - q64) / lr
            prev = buf.get(k)
            if not mu:
                g = d
            elif nesterov:
                g = d / (1 + mu) if prev is None else (d - mu * mu * prev) / (1 + mu)
                buf[k] = g if prev is None else mu * prev + g
            else:
                g = d if prev is None else (d - mu * prev) / (1 - tau)
                buf[k] = d
            grads[k] = g - wd * p64
            size = _finite_max(p64) + _finite_max(q64)
        noise[k] = 4 * eps * size / lr / (1 - tau if mu else 1)
    obs.grads, obs.implied, obs.noise = grads, True, noise


def _finite_max(a: np.ndarray) -> float:
    a = np.abs(a)
    return float(a[np.isfinite(a)].max(initial=0.0))
