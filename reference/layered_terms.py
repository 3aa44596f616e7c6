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
summation lengths along the way (``depth_factor``). The engine uses the tighter first-order
bound ``abs_grads(errors=True)``: each layer's own length times the terms of its own operation
on the gradient it is actually handed, carried down the same chain. Either way a gradient that
cancels to nearly nothing (a bias feeding a batchnorm; batchnorm at batch 2, where dx is
nearly zero) gets an allowance of the size of its terms, not of itself. Forward errors, and the
derivative flips they cause at a kink, are ``layered_kinks``'s.
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
    return sum(_layer_lengths(spec))


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
    spec: Spec,
    params: dict[str, Array],
    X: Array,
    y: Array,
    state: Any,
    masks: dict,
    errors: bool = False,
) -> dict[str, Array]:
    """T per parameter (float64), at ``params`` with the step's buffers and dropout masks.

    ``errors``: instead, a first-order bound on each gradient's round-off in units of u. Each
    layer adds ``k`` (its share of ``depth_factor``) times the terms of its own operation on the
    gradient it is actually handed, and the absolute chain carries all that was added above
    to the layers below: ``e <- |VJP|(e + k |g|)``. As ``|g| <= T`` at every layer, this is
    never wider than ``K T``; it is far tighter where a gradient cancels to little of its terms
    (at batch 2 a batchnorm's dx is ~1e-5 of them, and K T then allowed a bug that doubles it).
    """
    net = build(spec.replace(dtype="float64"))
    P = {n: np.asarray(v, dtype=np.float64) for n, v in params.items()}
    bufs = {n: np.asarray(v, dtype=np.float64) for n, v in state.buffers.items()}
    X64 = np.asarray(X, dtype=np.float64)
    y64 = y if y.dtype.kind == "i" else np.asarray(y, dtype=np.float64)
    ks = _layer_lengths(spec)
    with np.errstate(all="ignore"):
        out, trace = net.forward(P, X64, buffers=bufs, masks=masks)
        g = net.loss_fn.grad(out, y64)  # the gradient actually handed down
        chain = np.zeros_like(g) if errors else np.abs(g)
        grads: dict[str, Array] = {}
        for i in range(len(net.slots) - 1, -1, -1):
            slot, c = net.slots[i], spec.stack[i]
            if errors:
                chain = chain + ks[i] * np.abs(g)
                real = {k: P[f"{k}{slot.number}"] for k in ("W", "b", "gamma", "beta")
                        if f"{k}{slot.number}" in P}  # fmt: skip
                g = slot.layer.backward(real, trace.caches[i], g, i > 0)[0]
            chain, gr = _abs_vjp(c.name, slot, P, trace.caches[i], chain, i > 0)
            for k, v in gr.items():
                grads[f"{k}{slot.number}"] = np.abs(v)
    return grads


def _abs_vjp(name: str, slot: Any, P: dict, cache: Any, g: Array, need_dx: bool):
    """One layer's vector-Jacobian product on absolute values (see the module docstring)."""
    own = {k: np.abs(P[f"{k}{slot.number}"]) for k in ("W", "b", "gamma", "beta")
           if f"{k}{slot.number}" in P}  # fmt: skip
    if name in ("batchnorm", "layernorm"):
        return _abs_norm(name, own, cache, g, need_dx)
    if name == "conv":
        cache = cache._replace(cols=np.abs(cache.cols))
    elif name == "dense":
        cache = np.abs(cache)
    g, gr = slot.layer.backward(own, cache, g, need_dx)
    if g is not None and is_activation(name):
        g = np.abs(g)
    return g, gr


def _layer_lengths(spec: Spec) -> list[int]:
    """Each layer's share of ``depth_factor``: its summation lengths plus 8."""
    out, shape = [], spec.in_shape
    for o in layer_shapes(spec):
        positions = int(np.prod(o[1:])) if len(o) == 3 else 1
        out.append(spec.batch * positions + int(np.prod(shape)) + 8)
        shape = o
    return out
