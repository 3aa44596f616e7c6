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
from dataclasses import dataclass

import numpy as np

from .layer_cases import EPS, Case, _autograd, bn_axes

Array = np.ndarray


@dataclass(frozen=True)
class Variant:
    """``code`` (the catalogue's name), ``what`` it does, the ``fix``, and ``tensors(case,
    dout)``: every tensor computed that wrong way (None: the variant does not apply)."""

    code: str
    what: str
    fix: str
    tensors: Callable[[Case, Array], dict[str, Array] | None]
    backward_fix: str = ""  # where a forward variant's gradient is the backward's alone


def _torch_variant(f: Callable) -> Callable[[Case, Array], dict[str, Array] | None]:
    """``tensors`` from a PyTorch function ``f(case)`` -> ``g(x, *params)``: its output and
    autograd's gradients."""

    def tensors(case: Case, dout: Array) -> dict[str, Array] | None:
        g = f(case)
        if g is None:
            return None
        out, grads = _autograd(g, case)
        if out.shape != dout.shape:
            return {"out": out}
        return {"out": out, **grads(dout)}

    return tensors


# -- batchnorm and layernorm ---------------------------------------------------------------


def _norm(axes_of: Callable[[object], tuple[int, ...]], detach: str = "", ddof: int = 0):
    """gamma (x - mu) / sqrt(var + eps) + beta over ``axes_of(x)``, with ``detach`` naming the
    statistic(s) whose gradient is dropped ("mu", "var", "mu,var") and the variance divided by
    count - ``ddof``."""

    def make(case: Case):
        def g(x, gamma, beta):
            axes = axes_of(x)
            vec = [1, -1] + [1] * (x.ndim - 2)
            mu = x.mean(dim=axes, keepdim=True)
            var = x.var(dim=axes, keepdim=True, correction=ddof)
            if "var" in detach:
                var = var.detach()
            num = x - (mu.detach() if "mu" in detach else mu)
            return gamma.reshape(vec) * num / (var + EPS).sqrt() + beta.reshape(vec)

        if not case.train:
            return None
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


# -- conv ----------------------------------------------------------------------------------


def _conv(flip: bool = False, origin_stride1: bool = False):
    def make(case: Case):
        import torch.nn.functional as F

        cp = case.layer_param or {}
        s, pad = cp["stride"], cp["pad"]
        if origin_stride1 and s == 1:
            return None

        def g(x, w, b):
            k = w.flip(-1, -2) if flip else w
            if not origin_stride1:
                return F.conv2d(x, k, b, stride=s, padding=pad)
            full = F.conv2d(x, k, b, stride=1, padding=pad)
            ho = (x.shape[2] + 2 * pad - w.shape[2]) // s + 1
            wo = (x.shape[3] + 2 * pad - w.shape[3]) // s + 1
            return full[:, :, :ho, :wo]

        return g

    return make


def _conv_last_sample(case: Case, dout: Array) -> dict[str, Array] | None:
    """dw and db of the last sample only (``=`` where ``+=`` sums over the batch)."""
    import torch
    import torch.nn.functional as F

    cp = case.layer_param or {}
    x = torch.tensor(case.x[-1:])
    w = torch.tensor(case.params["w"], requires_grad=True)
    b = torch.tensor(case.params["b"], requires_grad=True)
    out = F.conv2d(x, w, b, stride=cp["stride"], padding=cp["pad"])
    if out.shape[1:] != dout.shape[1:]:
        return None
    dw, db = torch.autograd.grad(out, [w, b], torch.tensor(dout[-1:]))
    return {"dw": dw.numpy(), "db": db.numpy()}


def _conv_db_per_position(case: Case, dout: Array) -> dict[str, Array] | None:
    return {"db": dout.sum(axis=0)}


CONV = [
    Variant(
        "conv_flip",
        "flips the kernel (true convolution) where PyTorch and CS231n compute cross-correlation",
        "multiply each window by w as it is: out[n, f, i, j] = sum(x_window * w[f]) + b[f], "
        "with no w[:, :, ::-1, ::-1]",
        _torch_variant(_conv(flip=True)),
        "in backward, use the kernel rotated 180 degrees where your forward uses it as it is: "
        "dx is the full convolution of dout with w[:, :, ::-1, ::-1] (or scatter dout[n, f, i, "
        "j] * w[f] into each window of dx), so that dx is the gradient of your own forward",
    ),
    Variant(
        "conv_stride",
        "starts window (i, j) at (i, j) instead of (i * stride, j * stride)",
        "the window of output (i, j) starts at row i * stride, column j * stride of the "
        "padded input",
        _torch_variant(_conv(origin_stride1=True)),
    ),
    Variant(
        "conv_batch_sum",
        "keeps only the last sample's dw and db (= where += sums over the batch)",
        "accumulate over the batch: dw += ..., db += ... inside the loop over n",
        _conv_last_sample,
    ),
    Variant(
        "bias_reduction",
        "sums db over the batch only, not over the output positions",
        "db = dout.sum(axis=(0, 2, 3))",
        _conv_db_per_position,
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
