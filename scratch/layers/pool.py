"""Max and average pooling over k x k windows taken every ``stride`` (default: k), NCHW, no
padding, output side floor((H - k)/s) + 1 as PyTorch.

Max pooling routes each window's gradient to the one input its forward selected: the first
maximum in scan order (row by row), as PyTorch's CPU kernel; a NaN counts as the maximum.
Average pooling spreads dy / (k k) over the window. Where windows overlap (stride < k) the
gradients an input receives from several windows add up. Both read the k k window offsets as
strided views (no copy of the windows) and loop over the offsets only.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..activations import zero_where
from ..errors import SpecError
from .base import POSITIONAL, Ctx, Layer, Shape, need_4d, register
from .windows import laid_out_as, offset_slices, offset_view, out_size, zeros_laid_out_as

Array = np.ndarray


class PoolCache(NamedTuple):
    x_shape: tuple[int, ...]
    arg: Array | None  # max pooling: the scan-order offset t = p k + q of each window's maximum


def _out_hw(x_shape: tuple[int, ...], k: int, stride: int) -> tuple[int, int]:
    return out_size(x_shape[2], k, stride), out_size(x_shape[3], k, stride)


def maxpool2d(x: Array, k: int, stride: int) -> tuple[Array, PoolCache]:
    """y[n,c,i,j] = max_{p,q} x[n,c,s i+p,s j+q], and the offset of the first maximum.

    Offsets are visited in scan order t = p k + q. The maximum propagates NaN (np.maximum); the
    first offset equal to it (or, where it is NaN, the first NaN) is the one selected, as
    np.argmax and PyTorch's CPU kernel select. (A tie of -0.0 and +0.0 may give y either
    sign; the gradient still goes to the first.)"""
    out_hw = _out_hw(x.shape, k, stride)
    views = [offset_view(x, p, q, stride, out_hw) for p in range(k) for q in range(k)]
    y = views[0].copy(order="K")  # laid out as x
    for v in views[1:]:
        np.maximum(y, v, out=y)
    has_nan = bool(np.isnan(y).any())
    index = np.uint8 if k * k <= 256 else np.int32
    arg = np.zeros_like(y, dtype=index)
    found = np.zeros_like(y, dtype=bool)
    for t, v in enumerate(views):
        hit = v == y
        if has_nan:
            hit |= np.isnan(v)
        if t:
            first = hit & ~found
            arg += first * index(t)
        found |= hit
    return y, PoolCache(x.shape, arg)


def maxpool2d_vjp(cache: PoolCache, dy: Array, k: int, stride: int) -> Array:
    """dx: each dy[n,c,i,j] added to the input its window's maximum came from."""
    out_hw = dy.shape[2:]
    dy = laid_out_as(dy, cache.arg)  # the forward input's layout, in which dx is made
    dx = zeros_laid_out_as(cache.arg, cache.x_shape, dy.dtype)
    for t in range(k * k):
        dx[offset_slices(*divmod(t, k), stride, out_hw)] += zero_where(cache.arg != t, dy)
    return dx


def avgpool2d(x: Array, k: int, stride: int) -> tuple[Array, PoolCache]:
    """y[n,c,i,j] = (1/k^2) sum_{p,q} x[n,c,s i+p,s j+q]."""
    out_hw = _out_hw(x.shape, k, stride)
    y = offset_view(x, 0, 0, stride, out_hw).copy(order="K")
    for t in range(1, k * k):
        y += offset_view(x, *divmod(t, k), stride, out_hw)
    y /= x.dtype.type(k * k)
    return y, PoolCache(x.shape, None)


def avgpool2d_vjp(cache: PoolCache, dy: Array, k: int, stride: int) -> Array:
    """dx: dy[n,c,i,j] / k^2 added to every input of the window."""
    g = dy / dy.dtype.type(k * k)
    dx = zeros_laid_out_as(dy, cache.x_shape, dy.dtype)
    for t in range(k * k):
        dx[offset_slices(*divmod(t, k), stride, dy.shape[2:])] += g
    return dx


def _pool(name: str, k: int, stride: int, fwd, vjp) -> Layer:
    if k < 1 or stride < 0:
        raise SpecError(
            f"{name} needs a window k >= 1 (and stride >= 1), got k={k}: e.g. {name}(2)"
        )
    s = stride or k

    def out_shape(in_shape: Shape) -> Shape:
        need_4d(f"{name}({k})", in_shape)
        c, h, w = in_shape
        if k > h or k > w:
            raise SpecError(
                f"{name} window k={k} is larger than its {h}x{w} input: use k <= {min(h, w)}, "
                "or pool earlier"
            )
        return (c, out_size(h, k, s), out_size(w, k, s))

    def forward(p: dict, x: Array, ctx: Ctx):
        y, cache = fwd(x, k, s)
        return y, cache, {}

    def backward(p: dict, cache: PoolCache, dy: Array, need_dx: bool):
        return (vjp(cache, dy, k, s) if need_dx else None), {}

    return Layer(out_shape, forward, backward)


@register(POSITIONAL)
def maxpool(k: int = 0, stride: int = 0) -> Layer:
    """y = max over each k x k window (stride 0 means stride k); the gradient goes to the first
    maximum in scan order (PyTorch, CPU); overlapping windows add their gradients."""
    return _pool("maxpool", k, stride, maxpool2d, maxpool2d_vjp)


@register(POSITIONAL)
def avgpool(k: int = 0, stride: int = 0) -> Layer:
    """y = (1/k^2) sum over each k x k window (stride 0 means stride k); dx = dy / k^2 spread
    over the window; overlapping windows add their gradients."""
    return _pool("avgpool", k, stride, avgpool2d, avgpool2d_vjp)
