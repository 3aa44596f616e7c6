"""Named wrong versions of one layer inside a whole network (LEARNER_BUGS.md classes 17-20),
as PyTorch modules that replace the twin's module for that layer: a learner whose loss and
gradients equal the twin's with one of these in place has that bug.

- batchnorm: dx without the batch mean's term, the variance's, or both (the statistic's
  gradient dropped: ``detach``); the variance divided by N - 1 in training.
- dropout: ``dropout_variants``.
- conv: the kernel flipped (true convolution) in forward and backward, or only in dx; dx cut
  from the padded gradient at its corner instead of the padding's offset (``conv_padding``).
- max pool: the gradient sent to every element of the window, averaged over it, or sent to
  every tied maximum.
- relu: the backward masked by the incoming gradient's sign (dout > 0), not the input's.
- flatten: the forward in (N, H, W, C) order (a convention: said, not a bug), or dx read back
  in that order where the forward flattened (N, C, H, W) (``flatten_backward``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F

from .dropout_variants import dropout_variants
from .layer_swap import Fn, WVariant
from .layered_conv import conv_variants

BN_FIX = (
    "dx = (1/N) * gamma * rstd * (N * dy - dy.sum(0) - xhat * (dy * xhat).sum(0)): keep the "
    "terms through the batch mean and variance (the staged graph of the CS231n notes)"
)


class _MaskOnGrad(torch.autograd.Function):
    """relu forward; backward masked by the incoming gradient's sign (nnfs's dvalues slip)."""

    @staticmethod
    def forward(ctx: object, x: torch.Tensor) -> torch.Tensor:  # noqa: ARG004
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx: object, g: torch.Tensor) -> torch.Tensor:  # noqa: ARG004
        return g * (g > 0)


class _UnflattenLast(torch.autograd.Function):
    """flatten (N, C, H, W) -> (N, C*H*W); backward read back as (N, H, W, C)."""

    @staticmethod
    def forward(ctx: object, x: torch.Tensor) -> torch.Tensor:
        ctx.shape = x.shape  # type: ignore[attr-defined]
        return x.reshape(len(x), -1)

    @staticmethod
    def backward(ctx: object, g: torch.Tensor) -> torch.Tensor:
        shape = ctx.shape  # type: ignore[attr-defined]
        if len(shape) != 4:
            return g.reshape(shape)
        n, c, h, w = shape
        return g.reshape(n, h, w, c).permute(0, 3, 1, 2)


def _bn(
    detach: str = "", ddof: int = 0, eps_outside: bool = False, over: str = "batch",
    eps: float | None = None,
) -> Callable[[nn.Module], nn.Module]:  # fmt: skip
    """A batchnorm (or layernorm: ``over`` "features") computed the named wrong way; ``over``
    "batch" on a layernorm: its statistics over the batch, as batchnorm's; ``eps``: another
    eps than the module's."""

    def make(bn: nn.Module) -> nn.Module | None:
        if eps is not None and eps == bn.eps:
            return None
        e = bn.eps if eps is None else eps

        def f(x: torch.Tensor) -> torch.Tensor:
            axes = (0,) if x.ndim == 2 else (0, 2, 3)
            vec = [1, -1] + [1] * (x.ndim - 2)
            if isinstance(bn, nn.LayerNorm):  # (N, D) alone: its weight is per feature
                axes, vec = (0,) if over == "batch" else (1,), [1, -1]
            mu = x.mean(dim=axes, keepdim=True)
            var = x.var(dim=axes, keepdim=True, correction=ddof)
            var = var.detach() if "var" in detach else var
            num = x - (mu.detach() if "mu" in detach else mu)
            xhat = num / (var.sqrt() + e if eps_outside else (var + e).sqrt())
            return bn.weight.reshape(vec) * xhat + bn.bias.reshape(vec)

        return Fn(f)

    return make


class _BnTerms(torch.autograd.Function):
    """Batchnorm whose backward scales its mean's and variance's terms by ``c1`` and ``c2``:
    dx = rstd (dxhat - c1 mean(dxhat) - c2 xhat mean(dxhat xhat)); a spatial one averaged
    over the N samples where its statistics run over N*H*W values has c1 = c2 = HW, a sum
    where a mean belongs c = the count of values."""

    @staticmethod
    def forward(ctx, x, w, b, eps, which):  # noqa: ANN001, ANN205
        axes = (0,) if x.ndim == 2 else (0, 2, 3)
        vec = [1, -1] + [1] * (x.ndim - 2)
        mu, var = x.mean(dim=axes, keepdim=True), x.var(dim=axes, keepdim=True, correction=0)
        rstd = (var + eps).rsqrt()
        xhat = (x - mu) * rstd
        ctx.save_for_backward(xhat, rstd, w)
        ctx.conf = (axes, vec, which)
        return w.reshape(vec) * xhat + b.reshape(vec)

    @staticmethod
    def backward(ctx, g):  # noqa: ANN001, ANN205
        xhat, rstd, w = ctx.saved_tensors
        axes, vec, which = ctx.conf
        count = g.numel() // g.shape[1]
        c1, c2 = {"per_sample": (count // g.shape[0],) * 2, "mean_sum": (count, 1),
                  "var_sum": (1, count)}[which]  # fmt: skip
        d = g * w.reshape(vec)
        m1, m2 = d.mean(dim=axes, keepdim=True), (d * xhat).mean(dim=axes, keepdim=True)
        dx = rstd * (d - c1 * m1 - c2 * xhat * m2)
        return dx, (g * xhat).sum(dim=axes), g.sum(dim=axes), None, None


def _bn_terms(which: str) -> Callable[[nn.Module], nn.Module | None]:
    def make(bn: nn.Module) -> nn.Module | None:
        if which == "per_sample" and not isinstance(bn, nn.BatchNorm2d):
            return None  # over features: N is every value's count already
        return Fn(lambda x: _BnTerms.apply(x, bn.weight, bn.bias, bn.eps, which))

    return make


class _PoolRoute(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, k, stride, rule):  # noqa: ANN001, ANN205
        ctx.save_for_backward(x)
        ctx.conf = (k, stride, rule)
        return F.max_pool2d(x, k, stride)

    @staticmethod
    def backward(ctx, g):  # noqa: ANN001, ANN205
        (x,) = ctx.saved_tensors
        k, stride, rule = ctx.conf
        with torch.enable_grad():
            xx = x.detach().requires_grad_(True)
            (gx,) = torch.autograd.grad(F.avg_pool2d(xx, k, stride), xx, g)
        kk = (k if isinstance(k, int) else k[0] * k[1]) ** (2 if isinstance(k, int) else 1)
        if rule == "ties":  # every element equal to its window's maximum (stride == kernel)
            kh, kw = (k, k) if isinstance(k, int) else k
            up = F.max_pool2d(x, k, stride).repeat_interleave(kh, 2).repeat_interleave(kw, 3)
            gu = g.repeat_interleave(kh, 2).repeat_interleave(kw, 3)
            h, w = up.shape[2], up.shape[3]
            out = torch.zeros_like(x)
            out[:, :, :h, :w] = (x[:, :, :h, :w] == up).to(x.dtype) * gu
            return out, None, None, None
        if rule == "assign":  # dx[window] = ... in raster order: the last window wins
            _, idx = F.max_pool2d(x, k, stride, return_indices=True)
            n, c = x.shape[:2]
            flat, gf = idx.flatten(2), g.flatten(2)
            order = torch.arange(flat.shape[2]).expand_as(flat).contiguous()
            last = torch.full((n, c, x.shape[2] * x.shape[3]), -1, dtype=torch.long)
            last = last.scatter_reduce(2, flat, order, "amax", include_self=True)
            dx = torch.where(
                last >= 0, gf.gather(2, last.clamp(min=0)), torch.zeros_like(last, dtype=g.dtype)
            )
            return dx.reshape(x.shape), None, None, None
        if rule == "window":  # dx[window] = onehot * dout in raster order: a later window's
            return _window_assigned(x, g, k, stride), None, None, None  # zeros overwrite
        return (gx * kk if rule == "every" else gx), None, None, None


def _window_assigned(x: torch.Tensor, g: torch.Tensor, k, stride) -> torch.Tensor:  # noqa: ANN001
    """Max pool's dx with each whole window assigned, dx[window] = onehot(max) * dout, windows
    in raster order (review s52 F3b): where windows overlap, a later one's zeros overwrite an
    earlier one's maximum."""
    kh, kw = (k, k) if isinstance(k, int) else k
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    _, idx = F.max_pool2d(x, k, stride, return_indices=True)
    dx = torch.zeros_like(x).contiguous()
    flat = dx.view(x.shape[0], x.shape[1], -1)
    for i in range(g.shape[2]):
        for j in range(g.shape[3]):
            dx[:, :, i * sh : i * sh + kh, j * sw : j * sw + kw] = 0
            flat.scatter_(2, idx[:, :, i, j, None], g[:, :, i, j, None])
    return dx


def _no_overlap(m: nn.Module) -> bool:
    k = m.kernel_size if isinstance(m.kernel_size, tuple) else (m.kernel_size,) * 2
    s = m.stride if isinstance(m.stride, tuple) else (m.stride,) * 2
    return s[0] >= k[0] and s[1] >= k[1]


def _pool(rule: str) -> Callable[[nn.Module], nn.Module | None]:
    def make(m: nn.Module) -> nn.Module | None:
        if rule == "ties" and m.stride != m.kernel_size:
            return None  # windows that overlap: not built
        if rule in ("assign", "window") and _no_overlap(m):
            return None  # '=' and '+=' agree where no position is in two windows
        return Fn(lambda x: _PoolRoute.apply(x, m.kernel_size, m.stride, rule))

    return make


def variants(kind: str, fresh: torch.Tensor | None = None) -> list[WVariant]:
    """The named wrong versions of a layer of ``kind`` (a spec layer name)."""
    if kind == "batchnorm":
        return [
            WVariant("batchnorm_backward", f"dx without the {w}", BN_FIX, _bn(detach=d))
            for d, w in (
                ("mu", "batch mean's term"),
                ("var", "variance's term"),
                ("mu,var", "mean's and the variance's terms (dx = dxhat / std)"),
            )
        ] + [
            WVariant(
                "batchnorm_backward",
                "spatial dx averaged over the N samples where the statistics run over N*H*W "
                "values (its mean terms H*W times too large)",
                "divide by m = N * H * W, the values each channel's statistics average",
                _bn_terms("per_sample"),
            ),
            *(
                WVariant(
                    "batchnorm_backward",
                    f"dx with the {term}'s term summed over the batch where its mean belongs "
                    "(N times too large)",
                    BN_FIX,
                    _bn_terms(which),
                )
                for which, term in (("mean_sum", "batch mean"), ("var_sum", "variance"))
            ),
            WVariant(
                "batchnorm_variance",
                "normalises with the variance divided by N - 1 in training",
                "var = x.var(axis=0): the biased variance (divide by N) in training",
                _bn(ddof=1),
            ),
            WVariant(
                "batchnorm_eps",
                "adds eps outside the square root, (x - mu) / (sqrt(var) + eps), where PyTorch "
                "takes sqrt(var + eps)",
                "divide by np.sqrt(var + eps) (the two part by about eps / var, which a "
                "variance near 0 makes large)",
                _bn(eps_outside=True),
            ),
            *(
                WVariant(
                    "batchnorm_eps",
                    f"normalises with eps = {e:g} where the spec's batchnorm takes its own (1e-5 "
                    "unless declared)",
                    f"if eps = {e:g} is yours on purpose, declare batchnorm(eps={e:g}) in the spec"
                    + (" (Keras's default)" if e == 1e-3 else ""),
                    _bn(eps=e),
                )
                for e in (1e-3, 1e-4, 1e-6, 1e-8, 0.0)
            ),
        ]
    if kind == "layernorm":
        return [
            WVariant(
                "layernorm_axis",
                "normalises each feature over the batch (batchnorm) instead of each sample "
                "over its features",
                "layernorm's statistics run over each sample's features: mean and var with "
                "axis=1, keepdims=True",
                lambda m: (
                    _bn()(m) if len(m.normalized_shape) == 1 and m.weight is not None else None
                ),
            ),
        ]
    if kind == "dropout":
        return dropout_variants(fresh)
    if kind == "conv":
        return conv_variants()
    if kind == "flatten":
        return [
            WVariant(
                "flatten_order",
                "flattens channels last, (N, H, W, C) order as Keras and TensorFlow do, where "
                "PyTorch flattens (N, C, H, W)",
                "a correct choice, but the twin flattens channels first and this order cannot "
                "be declared yet: for the check, flatten with x.reshape(len(x), -1) on the (N, "
                "C, H, W) array (the dense layer after it learns either order)",
                lambda m: Fn(
                    lambda x: x.permute(0, 2, 3, 1).reshape(len(x), -1) if x.ndim == 4 else x
                ),
            ),
            WVariant(
                "flatten_backward",
                "un-flattens dx in (N, H, W, C) order where its forward flattened (N, C, H, W)",
                "reshape dx back as the forward flattened: dout.reshape(x.shape)",
                lambda m: Fn(_UnflattenLast.apply),
            ),
        ]
    if kind == "relu":
        return [
            WVariant(
                "wrong_activation_derivative",
                "masks the incoming gradient by its own sign (dout > 0) where relu's "
                "derivative masks by the layer's input (x > 0)",
                "dx = dout * (x > 0), with x the relu's input kept from the forward pass",
                lambda m: Fn(_MaskOnGrad.apply),
            )
        ]
    if kind == "maxpool":
        fix = "route each window's gradient to the position of its maximum only"
        return [
            WVariant(
                "pool_routing",
                "sends the gradient to every element of the window",
                fix,
                _pool("every"),
            ),
            WVariant(
                "pool_routing",
                "spreads the gradient over the window (averaged)",
                fix,
                _pool("mean"),
            ),
            WVariant(
                "pool_routing",
                "sends the gradient to every element equal to the window's maximum (ties "
                "each get it all)",
                fix + " (one of the tied maxima: the first, as np.argmax)",
                _pool("ties"),
            ),
            WVariant(
                "pool_routing",
                "assigns each window's gradient (dx[...] = ...) where windows overlap, so a "
                "maximum shared by two windows keeps the last one's only",
                "add each window's gradient (dx[...] += ...): overlapping windows sum",
                _pool("assign"),
            ),
            WVariant(
                "pool_routing",
                "assigns each whole window, dx[window] = onehot * dout, where windows overlap: "
                "a later window's zeros overwrite an earlier one's maximum",
                "add each window's gradient into dx (dx[window] += onehot * dout)",
                _pool("window"),
            ),
        ]
    return []
