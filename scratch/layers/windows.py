"""Sliding windows over images (N, C, H, W), shared by convolution and pooling.

``windows`` is a strided view (no copy): ``v[n, c, i, j, p, q] = x[n, c, s i + p, s j + q]``.
``add_windows`` is its adjoint: it adds ``g[n, c, i, j, p, q]`` back at ``(s i + p, s j + q)``,
so overlapping windows add up. It loops over the kh x kw kernel offsets only (each pass a
strided slice of the whole batch), never over the batch or the output positions; windows that
tile the input (stride = kh = kw) are written back in one strided copy.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

Array = np.ndarray


def out_size(size: int, k: int, stride: int, pad: int = 0) -> int:
    """floor((size + 2 pad - k) / stride) + 1, PyTorch's output size (dilation 1)."""
    return (size + 2 * pad - k) // stride + 1


def pad2d(x: Array, pad: int) -> Array:
    """Zero padding of the two spatial axes."""
    if pad == 0:
        return x
    return np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))


def windows(x: Array, kh: int, kw: int, stride: int) -> Array:
    """(N, C, Ho, Wo, kh, kw) view of the kh x kw windows of ``x`` taken every ``stride``."""
    return sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]


def add_windows(g: Array, shape: tuple[int, ...], stride: int) -> Array:
    """The adjoint of ``windows``: an array of ``shape`` (N, C, H, W) where each entry is the
    sum of ``g`` over every window position that covers it."""
    n, c, ho, wo, kh, kw = g.shape
    out = np.zeros(shape, dtype=g.dtype)
    if stride == kh == kw:  # windows tile the input without overlapping: one strided copy
        tiles = out[:, :, : ho * kh, : wo * kw].reshape(n, c, ho, kh, wo, kw)
        tiles[...] = g.transpose(0, 1, 2, 4, 3, 5)
        return out
    for p in range(kh):
        for q in range(kw):
            out[:, :, p : p + stride * ho : stride, q : q + stride * wo : stride] += g[..., p, q]
    return out
