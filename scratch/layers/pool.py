"""Max and average pooling over k x k windows taken every ``stride`` (default: k), NCHW, no
padding, output side floor((H - k)/s) + 1 as PyTorch.

Max pooling routes each window's gradient to the one input its forward selected: the first
maximum in scan order (row by row), as PyTorch's CPU kernel; a NaN counts as the maximum.
Average pooling spreads dy / (k k) over the window. Where windows overlap (stride < k) the
gradients an input receives from several windows add up.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..errors import SpecError
from .base import POSITIONAL, Ctx, Layer, Shape, need_4d, register
from .windows import add_windows, out_size, windows

Array = np.ndarray


class PoolCache(NamedTuple):
    x_shape: tuple[int, ...]
    arg: Array | None  # max pooling: the flat index (p k + q) of each window's maximum


def maxpool2d(x: Array, k: int, stride: int) -> tuple[Array, PoolCache]:
    """y[n,c,i,j] = max_{p,q} x[n,c,s i+p,s j+q], and the position of the first maximum."""
    win = windows(x, k, k, stride)
    flat = win.reshape(*win.shape[:4], k * k)  # a copy, row-major: p k + q is scan order
    arg = flat.argmax(axis=-1)  # np.argmax: the first maximum, and a NaN wins
    y = np.take_along_axis(flat, arg[..., None], axis=-1)[..., 0]
    return y, PoolCache(x.shape, arg)


def maxpool2d_vjp(cache: PoolCache, dy: Array, k: int, stride: int) -> Array:
    """dx: each dy[n,c,i,j] added to the input its window's maximum came from."""
    onehot = cache.arg[..., None] == np.arange(k * k)
    g = np.where(onehot, dy[..., None], 0).astype(dy.dtype, copy=False)
    return add_windows(g.reshape(*dy.shape, k, k), cache.x_shape, stride)


def avgpool2d(x: Array, k: int, stride: int) -> tuple[Array, PoolCache]:
    """y[n,c,i,j] = (1/k^2) sum_{p,q} x[n,c,s i+p,s j+q]."""
    y = windows(x, k, k, stride).sum(axis=(4, 5)) / (k * k)
    return y.astype(x.dtype, copy=False), PoolCache(x.shape, None)


def avgpool2d_vjp(cache: PoolCache, dy: Array, k: int, stride: int) -> Array:
    """dx: dy[n,c,i,j] / k^2 added to every input of the window."""
    g = np.broadcast_to((dy / (k * k))[..., None, None], (*dy.shape, k, k))
    return add_windows(g.astype(dy.dtype, copy=False), cache.x_shape, stride)


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
