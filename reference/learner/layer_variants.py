"""Named wrong versions of each layer (LEARNER_BUGS.md classes 17-21): a learner's tensor that
parts from PyTorch's but equals one of these is that bug.

A ``Variant`` computes every tensor of the layer (``out``, ``dx``, ``d<param>``) the wrong way
it names: most as a PyTorch function differentiated by autograd (a flipped kernel; the variance
divided by N - 1; ``detach`` on the batch mean or variance, which keeps the forward and drops
their terms from dx), max-pool's routings as a direct loop over the windows (ties to the last
or to every maximum, the gradient to every element or averaged, ``=`` where ``+=`` belongs).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .conv_variants import CONV
from .layer_cases import EPS, Case, bn_axes
from .variant_base import Variant, _torch_variant

Array = np.ndarray


# -- batchnorm and layernorm ---------------------------------------------------------------


def _norm(
    axes_of: Callable[[object], tuple[int, ...]],
    detach: str = "",
    ddof: int = 0,
    eps_outside: bool = False,
    running: bool = False,
):
    """gamma (x - mu) / sqrt(var + eps) + beta over ``axes_of(x)``, with ``detach`` naming the
    statistic(s) whose gradient is dropped ("mu", "var", "mu,var") and the variance divided by
    count - ``ddof``; ``eps_outside``: / (sqrt(var) + eps); ``running``: the layer dict's
    running statistics in place of the batch's (None where the case passes none)."""

    def make(case: Case):
        import torch

        lp = case.layer_param or {}
        if not case.train or (running and "running_mean" not in lp):
            return None

        def g(x, gamma, beta):
            axes = axes_of(x)
            vec = [1, -1] + [1] * (x.ndim - 2)
            mu = x.mean(dim=axes, keepdim=True)
            var = x.var(dim=axes, keepdim=True, correction=ddof)
            if running:
                mu = torch.as_tensor(np.asarray(lp["running_mean"], float)).reshape(vec)
                var = torch.as_tensor(np.asarray(lp["running_var"], float)).reshape(vec)
            if "var" in detach:
                var = var.detach()
            num = x - (mu.detach() if "mu" in detach else mu)
            den = var.sqrt() + EPS if eps_outside else (var + EPS).sqrt()
            return gamma.reshape(vec) * num / den + beta.reshape(vec)

        return g

    return make


def _batch_axes(x) -> tuple[int, ...]:
    return (0,) if x.ndim == 2 else (0, 2, 3)


def _feature_axes(x) -> tuple[int, ...]:
    return tuple(range(1, x.ndim))


BN_BACKWARD_FIX = (
    "dx must carry the batch mean's and variance's own dependence on x: "
    "dx = (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)) / sqrt(var + eps), "
    "dxhat = dout * gamma, the means over the batch"
)

BATCHNORM = [
    Variant(
        "batchnorm_variance",
        "normalises with the unbiased variance (divided by N - 1)",
        "normalise with the biased variance (np.var(x, axis=0), divided by N); PyTorch stores "
        "the unbiased one in running_var only",
        _torch_variant(_norm(_batch_axes, ddof=1)),
    ),
    Variant(
        "layernorm_axis",
        "normalises each sample over its features (layernorm) instead of each feature over "
        "the batch",
        "batchnorm's statistics run over the batch: mean and var with axis=0",
        _torch_variant(_norm(_feature_axes)),
    ),
    Variant(
        "batchnorm_running",
        "normalises with the running statistics in training mode, where the batch's own mean "
        "and variance belong (the running ones are for test mode)",
        "in mode 'train' normalise with x.mean(axis=0) and x.var(axis=0), and only update "
        "running_mean and running_var from them",
        _torch_variant(_norm(_batch_axes, running=True)),
    ),
    Variant(
        "batchnorm_eps",
        "adds eps outside the square root, (x - mu) / (sqrt(var) + eps), where PyTorch and "
        "CS231n take sqrt(var + eps)",
        "divide by np.sqrt(var + eps) (the two part by about eps / var, which a variance near "
        "0 makes large)",
        _torch_variant(_norm(_batch_axes, eps_outside=True)),
    ),
    Variant(
        "batchnorm_backward",
        "treats the batch mean and variance as constants in dx (dx = dout * gamma / "
        "sqrt(var + eps))",
        BN_BACKWARD_FIX,
        _torch_variant(_norm(_batch_axes, detach="mu,var")),
    ),
    Variant(
        "batchnorm_backward",
        "drops the batch mean's term from dx (the -mean(dxhat) term)",
        BN_BACKWARD_FIX,
        _torch_variant(_norm(_batch_axes, detach="mu")),
    ),
    Variant(
        "batchnorm_backward",
        "drops the batch variance's term from dx (the -xhat * mean(dxhat * xhat) term)",
        BN_BACKWARD_FIX,
        _torch_variant(_norm(_batch_axes, detach="var")),
    ),
]


def _ln(detach: str = "", over_batch: bool = False):
    def make(case: Case):
        def g(x, gamma, beta):
            axes = 0 if over_batch else 1
            mu = x.mean(dim=axes, keepdim=True)
            var = x.var(dim=axes, keepdim=True, correction=0)
            if "var" in detach:
                var = var.detach()
            num = x - (mu.detach() if "mu" in detach else mu)
            return gamma * num / (var + EPS).sqrt() + beta

        return g

    return make


def _ln_param_sums_wrong_axis(case: Case, dout: Array) -> dict[str, Array] | None:
    """Right out and dx, gamma's and beta's gradients summed over the features (axis 1)."""
    x = case.x
    xhat = (x - x.mean(axis=1, keepdims=True)) / np.sqrt(x.var(axis=1, keepdims=True) + EPS)
    return {"dgamma": (dout * xhat).sum(axis=1), "dbeta": dout.sum(axis=1)}


LN_BACKWARD_FIX = (
    "dx must carry each sample's mean's and variance's dependence on x: "
    "dx = (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)) / sqrt(var + eps), "
    "the means over the features (axis=1)"
)

LAYERNORM = [
    Variant(
        "layernorm_axis",
        "normalises each feature over the batch (batchnorm) instead of each sample over its "
        "features",
        "layernorm's statistics run over each sample's features: mean and var with axis=1, "
        "keepdims=True",
        _torch_variant(_ln(over_batch=True)),
    ),
    Variant(
        "layernorm_axis",
        "sums gamma's and beta's gradients over the features (axis 1) instead of the batch",
        "dgamma = (dout * xhat).sum(axis=0), dbeta = dout.sum(axis=0)",
        _ln_param_sums_wrong_axis,
    ),
    Variant(
        "layernorm_backward",
        "treats each sample's mean and variance as constants in dx",
        LN_BACKWARD_FIX,
        _torch_variant(_ln(detach="mu,var")),
    ),
    Variant(
        "layernorm_backward",
        "drops the mean's term from dx",
        LN_BACKWARD_FIX,
        _torch_variant(_ln(detach="mu")),
    ),
    Variant(
        "layernorm_backward",
        "drops the variance's term from dx",
        LN_BACKWARD_FIX,
        _torch_variant(_ln(detach="var")),
    ),
]


# -- max pool ------------------------------------------------------------------------------


def _windows(case: Case, out_shape: tuple[int, ...]):
    pp = case.layer_param or {}
    ph, pw, s = pp["pool_height"], pp["pool_width"], pp["stride"]
    n, c, ho, wo = out_shape
    for i in range(ho):
        for j in range(wo):
            yield i, j, (slice(i * s, i * s + ph), slice(j * s, j * s + pw))


def _pool_route(rule: str):
    """max-pool's dx routed by ``rule``: "last" (ties to the last maximum), "all_max" (to every
    maximum), "all" (dout to every element), "mean" (dout / window size to every element),
    "assign" (the first maximum, ``=`` where ``+=`` belongs)."""

    def tensors(case: Case, dout: Array) -> dict[str, Array] | None:
        x = case.x
        dx = np.zeros_like(x)
        for i, j, (rs, cs) in _windows(case, dout.shape):
            win = x[:, :, rs, cs]
            g = dout[:, :, i, j][:, :, None, None]
            top = win == win.max(axis=(2, 3), keepdims=True)
            if rule == "all":
                dx[:, :, rs, cs] += g * np.ones_like(win)
            elif rule == "mean":
                dx[:, :, rs, cs] += g * np.ones_like(win) / win[0, 0].size
            elif rule == "all_max":
                dx[:, :, rs, cs] += g * top
            else:
                flat = top.reshape(*top.shape[:2], -1)
                idx = (
                    flat.shape[-1] - 1 - flat[..., ::-1].argmax(-1)
                    if rule == "last"
                    else flat.argmax(-1)
                )
                one = np.zeros_like(flat, dtype=float)
                np.put_along_axis(one, idx[..., None], 1.0, axis=-1)
                part = g * one.reshape(win.shape)
                if rule == "assign":
                    region = dx[:, :, rs, cs]
                    dx[:, :, rs, cs] = np.where(one.reshape(win.shape) > 0, part, region)
                else:
                    dx[:, :, rs, cs] += part
        return {"dx": dx}

    return tensors


POOL_FIX = (
    "send each window's dout to the position of its maximum only (the first one on ties, as "
    "np.argmax and PyTorch do), adding with += where windows overlap"
)

POOL = [
    Variant(
        "pool_routing",
        "sends each window's gradient to every element of the window",
        POOL_FIX,
        _pool_route("all"),
    ),
    Variant(
        "pool_routing",
        "averages each window's gradient over the window",
        POOL_FIX,
        _pool_route("mean"),
    ),
    Variant(
        "pool_routing",
        "routes ties to every maximum of the window",
        POOL_FIX,
        _pool_route("all_max"),
    ),
    Variant(
        "pool_routing",
        "writes dx with = where windows overlap (a later window overwrites an earlier one's "
        "gradient)",
        POOL_FIX,
        _pool_route("assign"),
    ),
]

VARIANTS: dict[str, list[Variant]] = {
    "affine": [],
    "batchnorm": BATCHNORM,
    "spatial_batchnorm": BATCHNORM,
    "layernorm": LAYERNORM,
    "conv": CONV,
    "max_pool": POOL,
}


def bn_dx_scale(case: Case, dout: Array, layer: str) -> float:
    """The size of the terms batchnorm's (or layernorm's) dx sums, |dout * gamma| / sqrt(var +
    eps): at a batch of 2 the true dx is ~0 and round-off is judged against these terms. The
    axes are the layer's own (``layer``, its kind): a case may pass no running statistics (a
    bare first call under CS231n's convention: review s25g F1)."""
    axes = (1,) if layer == "layernorm" else bn_axes(case.x)
    var = case.x.var(axis=axes, keepdims=True)
    g = case.params["gamma"]
    g = g.reshape((1, -1) + (1,) * (case.x.ndim - 2)) if axes != (1,) else g
    return float(np.max(np.abs(dout * g) / np.sqrt(var + EPS)))
