"""Gradients implied by a step that shows none (style c): from the weights before (p) and
after (p') one step of the declared SGD: d = (p - p') / lr; without momentum g = d; with
momentum mu, dampening tau, the buffer b = d and g = (d - mu b_prev) / (1 - tau) (g = d on the
first step); nesterov: g = (d - mu^2 b_prev) / (1 + mu); finally g -= weight_decay p. Each
implied gradient's noise is its weight's rounding at the dtype the learner stores it in
(a float16 weight of 1 rounds to 1e-3, which is 0.1 of a gradient under lr 0.01).
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
    held = codec.held_in()  # each weight's storage rounds its own way: a float16 weight's
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
        # p' = fl(p - fl(lr g)) is off by at most u (|p'| + |lr g|): d by u (|p'| / lr + |d|);
        # twice that, and momentum's buffer carries the last step's too
        eps = float(np.finfo(np.dtype(held.get(k, codec.dtype))).eps)  # 2 u of its storage
        size = _finite_max(q64) / lr + _finite_max(d)
        noise[k] = eps * size * (1 + mu) / (1 - tau if mu else 1)
    obs.grads, obs.implied, obs.noise = grads, True, noise


def _finite_max(a: np.ndarray) -> float:
    a = np.abs(a)
    return float(a[np.isfinite(a)].max(initial=0.0))
