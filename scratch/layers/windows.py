"""Sliding windows over images (N, C, H, W), shared by convolution and pooling.

Convolution works on columns (im2col) laid out with the batch LAST:

    cols[(c, p, q), (i, j, n)] = xp[n, c, s i + p, s j + q]          (C kh kw, Ho Wo N)

with ``xp`` the input zero-padded by ``pad``. Rows follow W's (c, p, q) order, so the layer is
one GEMM; the batch being the fastest axis makes every copy move runs of N (stride 1: Wo N)
contiguous values instead of runs of kw. ``col2im`` is the adjoint: it adds each column entry
back at (s i + p, s j + q), so overlapping windows add up, then crops the padding. It loops
over the kh x kw kernel offsets only (each pass one strided add over the whole batch), never
over the batch or the output positions.

Pooling reads the k x k window offsets as strided views: ``offset_view(x, p, q, ...)[n, c, i,
j] = x[n, c, s i + p, s j + q]``; ``offset_slices`` gives the same positions for writing back.

Memory layout is a speed matter only, never a value: conv hands its output on batch last,
and ``zeros_laid_out_as`` / ``laid_out_as`` keep gradients in their forward input's layout, as
elementwise work on arrays of one layout runs several times faster than on mixed ones.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

Array = np.ndarray


def out_size(size: int, k: int, stride: int, pad: int = 0) -> int:
    """floor((size + 2 pad - k) / stride) + 1, PyTorch's output size (dilation 1)."""
    return (size + 2 * pad - k) // stride + 1


def offset_slices(p: int, q: int, stride: int, out_hw: tuple[int, int]) -> tuple[slice, ...]:
    """The index (..., rows, cols) of the entries at kernel offset (p, q) of every window:
    rows p, p + s, ..., p + s (Ho - 1), likewise the columns."""
    ho, wo = out_hw
    return (Ellipsis, slice(p, p + stride * ho, stride), slice(q, q + stride * wo, stride))


def offset_view(x: Array, p: int, q: int, stride: int, out_hw: tuple[int, int]) -> Array:
    """(N, C, Ho, Wo) strided view (no copy) of the entries at offset (p, q) of each window."""
    return x[offset_slices(p, q, stride, out_hw)]


def _axis_order(a: Array) -> list[int]:
    return sorted(range(a.ndim), key=lambda i: -a.strides[i])  # outermost axis first


def zeros_laid_out_as(like: Array, shape: tuple[int, ...], dtype) -> Array:
    """Zeros of ``shape`` whose axes lie in memory in the order of ``like``'s (same ndim).
    The values do not depend on it; a gradient laid out as its forward input spares the
    layers below a transposing copy."""
    order = _axis_order(like)
    return np.zeros([shape[a] for a in order], dtype=dtype).transpose(np.argsort(order))


def laid_out_as(a: Array, like: Array) -> Array:
    """``a`` itself if its axes lie in memory in ``like``'s order, else a copy that does:
    elementwise work on arrays of one layout runs several times faster than on mixed ones."""
    if _axis_order(a) == _axis_order(like):
        return a
    out = zeros_laid_out_as(like, a.shape, a.dtype)
    out[...] = a
    return out


def _batch_last_padded(x: Array, pad: int) -> Array:
    """x (N, C, H, W) as (C, H + 2 pad, W + 2 pad, N), zero-padded: one copy."""
    n, c, h, w = x.shape
    if pad == 0:
        return np.ascontiguousarray(x.transpose(1, 2, 3, 0))
    xt = np.zeros((c, h + 2 * pad, w + 2 * pad, n), dtype=x.dtype)
    xt[:, pad : pad + h, pad : pad + w] = x.transpose(1, 2, 3, 0)
    return xt


def im2col(x: Array, kh: int, kw: int, stride: int, pad: int) -> Array:
    """The (C kh kw, Ho Wo N) matrix cols[(c, p, q), (i, j, n)] = xp[n, c, s i + p, s j + q]."""
    c = x.shape[1]
    win = sliding_window_view(_batch_last_padded(x, pad), (kh, kw), axis=(1, 2))
    win = win[:, ::stride, ::stride]  # (C, Ho, Wo, N, kh, kw), a view
    return np.ascontiguousarray(win.transpose(0, 4, 5, 1, 2, 3)).reshape(c * kh * kw, -1)


def col2im(
    dcols: Array, x_shape: tuple[int, ...], kh: int, kw: int, stride: int, pad: int
) -> Array:
    """The adjoint of ``im2col``: dx (N, C, H, W) with dx[n, c, y, x] the sum of dcols over
    every (window, offset) that read xp[n, c, y + pad, x + pad]; laid out batch last."""
    n, c, h, w = x_shape
    out_hw = (out_size(h, kh, stride, pad), out_size(w, kw, stride, pad))
    g = dcols.reshape(c, kh, kw, *out_hw, n)
    dxp = np.zeros((c, h + 2 * pad, w + 2 * pad, n), dtype=dcols.dtype)
    for p in range(kh):
        for q in range(kw):
            dxp[offset_slices(p, q, stride, out_hw) + (slice(None),)] += g[:, p, q]
    return dxp[:, pad : pad + h, pad : pad + w].transpose(3, 0, 1, 2)  # a view, batch last
