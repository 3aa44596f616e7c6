"""Batch and layer normalisation, as PyTorch's ``nn.BatchNorm1d/2d`` and ``nn.LayerNorm``.

Both compute y = gamma * xhat + beta with xhat = (x - mu) / sqrt(var + eps), the variance the
biased one (divided by the count m). They differ in the axes the statistics run over:

- batchnorm: per feature over the batch (N, D), per channel over batch and positions
  (N, C, H, W). Training mode normalises with the batch's statistics and returns the running
  ones PyTorch keeps: new = (1 - momentum) old + momentum batch, where the variance stored is
  the unbiased one (times m / (m - 1)). Eval mode normalises with the running statistics.
- layernorm: per sample over every axis but the batch; gamma and beta have the sample's shape;
  no running statistics, the same in both modes.

Backward in training mode (the statistics depend on x; sums over the statistics' axes):

    dxhat = dy gamma;  dx = (dxhat - mean(dxhat) - xhat mean(dxhat xhat)) / sqrt(var + eps)
    dgamma = sum(dy xhat) over the other axes;  dbeta = sum(dy)

and in eval mode dx = dy gamma / sqrt(running_var + eps).
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from ..errors import DataError, SpecError
from .base import Ctx, Layer, Shape, register

Array = np.ndarray


class NormCache(NamedTuple):
    xc: Array  # x - mu (mu: the batch's mean, or the running one in eval mode)
    rstd: Array  # 1 / sqrt(var + eps), broadcastable against x
    batch_stats: bool  # the statistics came from x (train batchnorm, layernorm)
    # (sum dy, sum dy xhat) over the statistics' axes, kept as size 1, where the backward
    # already has them (batchnorm's dbeta and dgamma): _norm_vjp then does not redo them
    sums: tuple[Array, Array] | None = None

    @property
    def xhat(self) -> Array:
        """(x - mu) rstd, made on demand: the passes need only xc and rstd."""
        return self.xc * self.rstd


@lru_cache(maxsize=64)
def _einsum_over(axes: tuple[int, ...], ndim: int, n_args: int) -> str:
    """The einsum that sums a product of ``n_args`` arrays over ``axes``: 'ab,ab->b' ..."""
    idx = "abcdefgh"[:ndim]
    kept = "".join(c for i, c in enumerate(idx) if i not in axes)
    return ",".join([idx] * n_args) + "->" + kept


def _sum(axes: tuple[int, ...], *arrays: Array) -> Array:
    """sum over ``axes`` (kept as size 1) of the product of ``arrays`` (one or two), in one
    pass and without the product array; einsum, which is several times faster than
    ndarray.sum over the leading or several axes."""
    a = arrays[0]
    if len(arrays) == 1 and axes == (0,) and a.ndim == 2:  # column sums: a GEMV, faster still
        return (np.ones(a.shape[0], dtype=a.dtype) @ a)[None]
    s = np.einsum(_einsum_over(axes, a.ndim, len(arrays)), *arrays)
    return s.reshape([1 if i in axes else n for i, n in enumerate(a.shape)])


def _normalize(x: Array, axes: tuple[int, ...], eps: float):
    """(x - mu, rstd, mu, var) with the biased variance over ``axes`` (kept as size 1)."""
    m = x.size // math.prod(x.shape[i] for i in range(x.ndim) if i not in axes)
    mu = _sum(axes, x) / m
    xc = x - mu
    var = _sum(axes, xc, xc) / m
    return xc, 1.0 / np.sqrt(var + eps), mu, var


def _norm_vjp(cache: NormCache, gamma: Array, dy: Array, axes: tuple[int, ...]) -> Array:
    """dx = (dxhat - mean(dxhat) - xhat mean(dxhat xhat)) rstd with dxhat = dy gamma (means
    over ``axes``); dx = dxhat rstd when the statistics are constants (eval batchnorm).
    Where gamma is constant along ``axes`` (batchnorm) it is taken out of the means:
    dx = (dy - mean(dy) - xhat mean(dy xhat)) gamma rstd, one pass fewer."""
    xc, rstd = cache.xc, cache.rstd
    if not cache.batch_stats:
        return dy * gamma * rstd
    m = dy.size // rstd.size
    g_shape = (1,) * (dy.ndim - np.ndim(gamma)) + np.shape(gamma)
    if all(g_shape[a] == 1 for a in axes):
        d, scale = dy, gamma * rstd
        sum_d, sum_dx = cache.sums or (_sum(axes, d), _sum(axes, d, xc) * rstd)
    else:
        d, scale = dy * gamma, rstd
        sum_d, sum_dx = _sum(axes, d), _sum(axes, d, xc) * rstd
    dx = xc * (rstd * sum_dx / m)  # xhat mean(d xhat), rstd constant over the axes
    np.subtract(d, dx, out=dx)
    dx -= sum_d / m
    dx *= scale
    return dx


def _channel_axes(ndim: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(statistics axes, the broadcast shape of a per-channel vector) for (N, D) or (N, C, H, W)."""
    return ((0,), (1, -1)) if ndim == 2 else ((0, 2, 3), (1, -1, 1, 1))


def batchnorm_forward(
    x: Array,
    gamma: Array,
    beta: Array,
    running_mean: Array,
    running_var: Array,
    train: bool,
    eps: float = 1e-5,
    momentum: float = 0.1,
):
    """(y, cache, new running statistics) for x of shape (N, D) or (N, C, H, W)."""
    axes, vec = _channel_axes(x.ndim)
    if train:
        m = x.size // x.shape[1]
        if m < 2:
            raise DataError(
                f"batchnorm in training mode got one value per channel (input {x.shape}); "
                "PyTorch refuses this: use a batch of 2 or more"
            )
        xc, rstd, mu, var = _normalize(x, axes, eps)
        stats = {
            "running_mean": (1 - momentum) * running_mean + momentum * mu.reshape(-1),
            "running_var": (1 - momentum) * running_var
            + momentum * var.reshape(-1) * (m / (m - 1)),
        }
        stats = {k: v.astype(x.dtype, copy=False) for k, v in stats.items()}
    else:
        rstd = 1.0 / np.sqrt(running_var.reshape(vec) + eps)
        xc = x - running_mean.reshape(vec)
        stats = {}
    y = xc * (gamma.reshape(vec) * rstd)  # gamma xhat + beta, with xhat's scale per channel
    y += beta.reshape(vec)  # folded into gamma's (one pass over x fewer)
    return y, NormCache(xc, rstd, train), stats


def batchnorm_vjp(cache: NormCache, gamma: Array, dy: Array):
    """(dx, dgamma, dbeta)."""
    axes, vec = _channel_axes(dy.ndim)
    sums = (_sum(axes, dy), _sum(axes, dy, cache.xc) * cache.rstd)
    dx = _norm_vjp(cache._replace(sums=sums), gamma.reshape(vec), dy, axes)
    return dx, sums[1].reshape(-1), sums[0].reshape(-1)


def layernorm_forward(x: Array, gamma: Array, beta: Array, eps: float = 1e-5):
    """(y, cache): each sample normalised over all its axes, then scaled and shifted."""
    axes = tuple(range(1, x.ndim))
    xc, rstd, _, _ = _normalize(x, axes, eps)
    y = xc * rstd
    y *= gamma
    y += beta
    return y, NormCache(xc, rstd, True)


def layernorm_vjp(cache: NormCache, gamma: Array, dy: Array):
    """(dx, dgamma, dbeta); gamma's and beta's gradients sum over the batch axis."""
    dx = _norm_vjp(cache, gamma, dy, tuple(range(1, dy.ndim)))
    return dx, _sum((0,), dy, cache.xhat)[0], _sum((0,), dy)[0]


def _affine(shape: Shape) -> dict:
    return {"gamma": np.ones(shape), "beta": np.zeros(shape)}


@register()
def batchnorm(eps: float = 1e-5, momentum: float = 0.1) -> Layer:
    """y = gamma (x - mu) / sqrt(var + eps) + beta per feature (N, D) or channel (N, C, H, W);
    train: batch mu and biased var, running = (1 - momentum) running + momentum batch (unbiased
    var stored); eval: the running statistics."""
    if not eps > 0 or not 0 <= momentum <= 1:
        raise SpecError(f"batchnorm needs eps > 0 and momentum in [0, 1], got {eps}, {momentum}")

    def out_shape(in_shape: Shape) -> Shape:
        if len(in_shape) not in (1, 3):
            raise SpecError(
                f"batchnorm takes (batch, features) or (batch, C, H, W), got a sample of shape "
                f"{'x'.join(map(str, in_shape))}: flatten first or give a CxHxW input"
            )
        return in_shape

    def forward(p: dict, x: Array, ctx: Ctx):
        return batchnorm_forward(
            x, p["gamma"], p["beta"], p["running_mean"], p["running_var"], ctx.train, eps, momentum
        )

    def backward(p: dict, cache: NormCache, dy: Array, need_dx: bool):
        dx, dgamma, dbeta = batchnorm_vjp(cache, p["gamma"], dy)
        return dx, {"gamma": dgamma, "beta": dbeta}

    def buffers(in_shape: Shape) -> dict:
        return {"running_mean": np.zeros(in_shape[0]), "running_var": np.ones(in_shape[0])}

    return Layer(
        out_shape,
        forward,
        backward,
        lambda rng, in_shape, w, b, bias: _affine((in_shape[0],)),
        buffers,
    )


@register()
def layernorm(eps: float = 1e-5) -> Layer:
    """y = gamma (x - mu) / sqrt(var + eps) + beta, mu and biased var per sample over all its
    axes; gamma, beta of the sample's shape; the same in train and eval mode."""
    if not eps > 0:
        raise SpecError(f"layernorm needs eps > 0, got {eps}")

    def forward(p: dict, x: Array, ctx: Ctx):
        y, cache = layernorm_forward(x, p["gamma"], p["beta"], eps)
        return y, cache, {}

    def backward(p: dict, cache: NormCache, dy: Array, need_dx: bool):
        dx, dgamma, dbeta = layernorm_vjp(cache, p["gamma"], dy)
        return dx, {"gamma": dgamma, "beta": dbeta}

    return Layer(
        lambda s: s, forward, backward, lambda rng, in_shape, w, b, bias: _affine(in_shape)
    )
