"""2-D convolution as PyTorch computes it: cross-correlation (no kernel flip), NCHW.

    y[n, o, i, j] = b[o] + sum_{c, p, q} W[o, c, p, q] xp[n, c, s i + p, s j + q]

with ``xp`` the input zero-padded by ``pad`` on each side and W of shape (out, in, kh, kw)
(PyTorch's layout, so the twin copies it unchanged). Output size floor((H + 2 pad - k)/s) + 1.
By im2col: the windows become rows of a (N Ho Wo, C kh kw) matrix and the layer is one GEMM.
Backward (the vector-Jacobian product of that GEMM):

    dW = dY^T cols,   db = sum of dy over batch and positions,   dcols = dY W,
    dx = the windows of dcols added back where they came from (col2im), padding cropped.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..errors import SpecError
from .base import POSITIONAL, Ctx, Layer, Shape, need_4d, register
from .windows import add_windows, out_size, pad2d, windows

Array = np.ndarray


class ConvCache(NamedTuple):
    cols: Array  # (N Ho Wo, C kh kw)
    x_shape: tuple[int, ...]
    out_hw: tuple[int, int]


def conv2d(x: Array, W: Array, b: Array | None, stride: int = 1, pad: int = 0):
    """y = conv2d(x, W) + b, and the cache ``conv2d_vjp`` needs."""
    n = x.shape[0]
    o, c, kh, kw = W.shape
    win = windows(pad2d(x, pad), kh, kw, stride)  # (N, C, Ho, Wo, kh, kw), a view
    ho, wo = win.shape[2:4]
    cols = win.transpose(0, 2, 3, 1, 4, 5).reshape(n * ho * wo, c * kh * kw)
    y = cols @ W.reshape(o, -1).T  # (N Ho Wo, out)
    if b is not None:
        y += b
    y = np.ascontiguousarray(y.reshape(n, ho, wo, o).transpose(0, 3, 1, 2))
    return y, ConvCache(cols, x.shape, (ho, wo))


def conv2d_vjp(
    cache: ConvCache, W: Array, dy: Array, stride: int = 1, pad: int = 0, need_dx: bool = True
):
    """(dx, dW, db) from dy = dL/dy of shape (N, out, Ho, Wo); dx is None unless need_dx."""
    o, c, kh, kw = W.shape
    n, _, h, w = cache.x_shape
    ho, wo = cache.out_hw
    dy_rows = dy.transpose(0, 2, 3, 1).reshape(n * ho * wo, o)
    dW = (dy_rows.T @ cache.cols).reshape(W.shape)
    db = dy.sum(axis=(0, 2, 3))
    if not need_dx:
        return None, dW, db
    dcols = (dy_rows @ W.reshape(o, -1)).reshape(n, ho, wo, c, kh, kw).transpose(0, 3, 1, 2, 4, 5)
    dxp = add_windows(dcols, (n, c, h + 2 * pad, w + 2 * pad), stride)
    return (dxp[:, :, pad : pad + h, pad : pad + w] if pad else dxp), dW, db


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
            raise SpecError(
                f"conv kernel k={k} is larger than its padded input {h + 2 * pad}x{w + 2 * pad} "
                f"({h}x{w}, pad={pad}): use k <= {min(h, w) + 2 * pad}, or more padding"
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
