"""The magnitude of the terms each gradient element of a layered network sums, for its
round-off allowance.

Backpropagation is a chain of sums. Run the same chain on absolute values (|dL/dout| at the top,
each layer's vector-Jacobian product with |W|, |inputs| and, inside a norm layer, every one of
its three terms added rather than subtracted:

    |dx| <- rstd (|dxhat| + mean|dxhat| + |xhat| mean(|dxhat| |xhat|)),  dxhat = |dy| |gamma|)

and each parameter gets ``T``, the sum of the absolute values of everything its gradient adds
up, through every layer above it. A computed sum of terms whose absolute values add up to T is
within ``n u T`` of the exact one (Higham 3.1); to first order the error of every intermediate
carries through the absolute chain, so the gradient error is at most ``u K T`` with ``K`` the
summation lengths along the way (``depth_factor``). This is what makes a gradient that cancels
to nearly nothing (a bias feeding a batchnorm; batchnorm at batch 2, where dx is nearly zero)
get an allowance of the size of its terms, not of itself. Forward errors are not propagated
(a blind spot, stated in the README).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnparity.scratch import Spec, build
from nnparity.scratch.spec_layers import is_activation, layer_shapes

Array = np.ndarray


def depth_factor(spec: Spec) -> int:
    """K: every layer's summation lengths (batch x output positions, fan-in) plus 8 per
    layer for its elementwise operations."""
    total, shape = 0, spec.in_shape
    for out in layer_shapes(spec):
        positions = int(np.prod(out[1:])) if len(out) == 3 else 1
        total += spec.batch * positions + int(np.prod(shape)) + 8
        shape = out
    return total


def _abs_norm(name: str, p: dict, cache: Any, g: Array, need_dx: bool):
    xhat = np.abs(cache.xhat)
    if name == "batchnorm":
        axes = (0,) if g.ndim == 2 else (0, 2, 3)
        vec = (1, -1) if g.ndim == 2 else (1, -1, 1, 1)
        gamma = np.abs(p["gamma"]).reshape(vec)
    else:
        axes = tuple(range(1, g.ndim))
        gamma = np.abs(p["gamma"])
    sum_axes = axes if name == "batchnorm" else (0,)
    grads = {"gamma": (g * xhat).sum(axis=sum_axes), "beta": g.sum(axis=sum_axes)}
    if not need_dx:
        return None, grads
    d = g * gamma
    if not cache.batch_stats:
        return d * cache.rstd, grads
    m1 = d.mean(axis=axes, keepdims=True)
    m2 = (d * xhat).mean(axis=axes, keepdims=True)
    return (d + m1 + xhat * m2) * cache.rstd, grads


def abs_grads(
    spec: Spec, params: dict[str, Array], X: Array, y: Array, state: Any, masks: dict
) -> dict[str, Array]:
    """T per parameter (float64), at ``params`` with the step's buffers and dropout masks."""
    net = build(spec.replace(dtype="float64"))
    P = {n: np.asarray(v, dtype=np.float64) for n, v in params.items()}
    bufs = {n: np.asarray(v, dtype=np.float64) for n, v in state.buffers.items()}
    X64 = np.asarray(X, dtype=np.float64)
    y64 = y if y.dtype.kind == "i" else np.asarray(y, dtype=np.float64)
    with np.errstate(all="ignore"):
        out, trace = net.forward(P, X64, buffers=bufs, masks=masks)
        g = np.abs(net.loss_fn.grad(out, y64))
        grads: dict[str, Array] = {}
        for i in range(len(net.slots) - 1, -1, -1):
            slot, c = net.slots[i], spec.stack[i]
            cache = trace.caches[i]
            own = {k: np.abs(P[f"{k}{slot.number}"]) for k in ("W", "b", "gamma", "beta")
                   if f"{k}{slot.number}" in P}  # fmt: skip
            if c.name in ("batchnorm", "layernorm"):
                g, gr = _abs_norm(c.name, own, cache, g, i > 0)
            else:
                if c.name == "conv":
                    cache = cache._replace(cols=np.abs(cache.cols))
                elif c.name == "dense":
                    cache = np.abs(cache)
                g, gr = slot.layer.backward(own, cache, g, i > 0)
                if g is not None and is_activation(c.name):
                    g = np.abs(g)
            for k, v in gr.items():
                grads[f"{k}{slot.number}"] = np.abs(v)
    return grads
