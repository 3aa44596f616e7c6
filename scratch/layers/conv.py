"""2-D convolution as PyTorch computes it: cross-correlation (no kernel flip), NCHW.

    y[n, o, i, j] = b[o] + sum_{c, p, q} W[o, c, p, q] xp[n, c, s i + p, s j + q]

with ``xp`` the input zero-padded by ``pad`` on each side and W of shape (out, in, kh, kw)
(PyTorch's layout, so the twin copies it unchanged). Output size floor((H + 2 pad - k)/s) + 1.
By im2col (``windows``): the windows become the columns of a (C kh kw, Ho Wo N) matrix and the
layer is one GEMM, Y = W cols with Y of shape (out, Ho Wo N). Backward (the vector-Jacobian
product of that GEMM):

    dW = dY cols^T,   db = sum of dY over batch and positions,   dcols = W^T dY,
    dx = col2im(dcols): each column entry added back where it came from, padding cropped.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..errors import SpecError
from .base import POSITIONAL, Ctx, Layer, Shape, need_4d, register
from .windows import col2im, im2col, out_size

Array = np.ndarray


class ConvCache(NamedTuple):
    cols: Array  # (C kh kw, Ho Wo N): im2col of the input, batch last
    x_shape: tuple[int, ...]
    out_hw: tuple[int, int]


def conv2d(
    x: Array, W: Array, b: Array | None, stride: int = 1, pad: int = 0
) -> tuple[Array, ConvCache]:
    """y = conv2d(x, W) + b, and the cache ``conv2d_vjp`` needs."""
    n, _, h, w = x.shape
    o, _, kh, kw = W.shape
    out_hw = (out_size(h, kh, stride, pad), out_size(w, kw, stride, pad))
    cols = im2col(x, kh, kw, stride, pad)
    y = W.reshape(o, -1) @ cols  # (out, Ho Wo N)
    if b is not None:
        y += b[:, None]
    # (N, out, Ho, Wo) as a view: the batch stays last in memory, which the layers after it
    # keep (NumPy's elementwise results follow their input's layout) and the next conv reads
    # without a transposing copy
    y = y.reshape(o, *out_hw, n).transpose(3, 0, 1, 2)
    return y, ConvCache(cols, x.shape, out_hw)


def conv2d_vjp(
    cache: ConvCache, W: Array, dy: Array, stride: int = 1, pad: int = 0, need_dx: bool = True
) -> tuple[Array | None, Array, Array]:
    """(dx, dW, db) from dy = dL/dy of shape (N, out, Ho, Wo); dx is None unless need_dx."""
    o, _, kh, kw = W.shape
    dy_rows = np.ascontiguousarray(dy.transpose(1, 2, 3, 0)).reshape(o, -1)  # (out, Ho Wo N)
    dW = (cache.cols @ dy_rows.T).T.reshape(W.shape)  # this order: 1.5x faster in OpenBLAS
    db = dy_rows.sum(axis=1)
    if not need_dx:
        return None, dW, db
    dcols = W.reshape(o, -1).T @ dy_rows  # (C kh kw, Ho Wo N)
    return col2im(dcols, cache.x_shape, kh, kw, stride, pad), dW, db


@register(POSITIONAL)
def conv(out: int = 0, k: int = 0, stride: int = 1, pad: int = 0) -> Layer:
    """y[n,o,i,j] = b[o] + sum_{c,p,q} W[o,c,p,q] x[n,c,s*i+p-pad,s*j+q-pad] (cross-correlation,
    NCHW, W (out, in, k, k)); output side floor((H + 2 pad - k)/s) + 1."""
    if out < 1 or k < 1:
        raise SpecError(
            f"conv needs out channels >= 1 and a kernel size k >= 1, got out={out}, k={k}: "
            "write e.g. conv(8,k=3)"
        )
    if stride < 1 or pad < 0:
        raise SpecError(f"conv needs stride >= 1 and pad >= 0, got stride={stride}, pad={pad}")

    def out_shape(in_shape: Shape) -> Shape:
        need_4d(f"conv(k={k})", in_shape)
        c, h, w = in_shape
        if k > h + 2 * pad or k > w + 2 * pad:
            last = (  # 8x8x1 written for a 1-channel 8x8 image: the spec reads C x H x W
                f"; the input is read as C x H x W ({c} channels of {h}x{w}): for {w}-channel "
                f"{c}x{h} images write {w}x{c}x{h}"
                if w < k <= min(c, h)
                else ""
            )
            raise SpecError(
                f"conv kernel k={k} is larger than its padded input {h + 2 * pad}x{w + 2 * pad} "
                f"({h}x{w}, pad={pad}): use k <= {min(h, w) + 2 * pad}, or more padding{last}"
            )
        return (out, out_size(h, k, stride, pad), out_size(w, k, stride, pad))

    def init(rng, in_shape: Shape, w_init, b_init, bias: bool) -> dict:
        """Drawn as a dense (in k k, out) weight with torch's conv fans, then laid out as
        (out, in, k, k): fan_in = in k k, fan_out = out k k (PyTorch's)."""
        fan_in, fan_out = in_shape[0] * k * k, out * k * k
        W = w_init(rng, (fan_in, out), fan_in, fan_out).T.reshape(out, in_shape[0], k, k)
        p = {"W": np.ascontiguousarray(W)}
        if bias:
            p["b"] = b_init(rng, (out,), fan_in, fan_out)
        return p

    def forward(p: dict, x: Array, ctx: Ctx):
        y, cache = conv2d(x, p["W"], p.get("b"), stride, pad)
        return y, cache, {}

    def backward(p: dict, cache: ConvCache, dy: Array, need_dx: bool):
        dx, dW, db = conv2d_vjp(cache, p["W"], dy, stride, pad, need_dx)
        return dx, ({"W": dW, "b": db} if "b" in p else {"W": dW})

    return Layer(out_shape, forward, backward, init)
