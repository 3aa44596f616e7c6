"""Named wrong versions of a conv layer inside a whole network (LEARNER_BUGS.md class 19), as
PyTorch modules replacing the twin's (``layered_variants``): the kernel flipped in forward and
backward, in dx or in dw alone, dw from dout rotated; dx cut from the padded gradient at its
corner; dw and db of the last sample alone (``=`` where ``+=`` sums over the batch), and dx
written with ``=`` where overlapping windows add (review s52 F3: both named by the per-layer
check, a generic layer_mismatch in a whole network)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F

from .conv_variants import ASSIGN_FIX
from .layer_swap import Fn, WVariant


class _FlipGrad(torch.autograd.Function):
    """A right convolution whose backward flips the kernel in dx (``which`` "dx"), returns
    dw rotated 180 degrees ("dw"), or builds dw from dout rotated 180 degrees ("dw_dout":
    scipy's convolve2d(x, dout) where correlate2d belongs, review s32 F10)."""

    @staticmethod
    def forward(ctx, x, w, b, stride, pad, which):  # noqa: ANN001, ANN205
        ctx.save_for_backward(x, w)
        ctx.conf = (stride, pad, which)
        return F.conv2d(x, w, b, stride=stride, padding=pad)

    @staticmethod
    def backward(ctx, g):  # noqa: ANN001, ANN205
        x, w = ctx.saved_tensors
        stride, pad, which = ctx.conf
        wi = w.flip(2, 3) if which == "dx" else w
        if which.startswith("assign"):
            s, p = _one(stride), _one(pad)
            gi = _assigned(g, w, x.shape, s, p, which == "assign_rev")
        else:
            gi = torch.nn.grad.conv2d_input(x.shape, wi, g, stride=stride, padding=pad)
        gd = g.flip(2, 3) if which == "dw_dout" else g
        xs, gs = (x[-1:], gd[-1:]) if which.startswith("last") else (x, gd)  # the last sample
        gw = torch.nn.grad.conv2d_weight(xs, w.shape, gs, stride=stride, padding=pad)
        gw = gw.flip(2, 3) if which == "dw" else gw
        return gi, gw, (gs if which == "last" else gd).sum(dim=(0, 2, 3)), None, None, None


def _one(v) -> int:  # noqa: ANN001
    return int(v[0] if isinstance(v, tuple) else v)


def _conv(rule: str) -> Callable[[nn.Module], nn.Module]:
    def make(c: nn.Module) -> nn.Module:
        s, p = c.stride, c.padding
        if rule == "flip":
            return Fn(lambda x: F.conv2d(x, c.weight.flip(2, 3), c.bias, stride=s, padding=p))
        if rule == "crop":  # dx cut from the padded grid at [:H, :W], not [pad:pad + H]
            pad = p[0] if isinstance(p, tuple) else p
            if not pad:
                return None
            return Fn(lambda x: F.conv2d(_PadCrop.apply(x, pad), c.weight, c.bias, stride=s))
        if rule.startswith("assign") and _one(s) >= max(c.weight.shape[2:]):
            return None  # no window overlaps another: = and += agree
        which = {"flip_dw": "dw", "flip_dout_dw": "dw_dout"}.get(rule, rule)
        which = "dx" if which == "flip_dx" else which
        return Fn(lambda x: _FlipGrad.apply(x, c.weight, c.bias, s, p, which))

    return make


class _PadCrop(torch.autograd.Function):
    """Zero padding whose backward cuts the padded gradient at [:H, :W] (the top-left corner)
    where the padding's own backward takes [pad:pad + H, pad:pad + W]."""

    @staticmethod
    def forward(ctx, x, pad):  # noqa: ANN001, ANN205
        ctx.hw = x.shape[2:]
        return F.pad(x, (pad, pad, pad, pad))

    @staticmethod
    def backward(ctx, g):  # noqa: ANN001, ANN205
        h, w = ctx.hw
        return g[:, :, :h, :w], None


def _assigned(g: torch.Tensor, w: torch.Tensor, x_shape, stride: int, pad: int, reverse: bool):  # noqa: ANN001, ANN202
    """dx with each window's share written with ``=`` (windows in row-major order, or
    ``reverse``d as a col2im's kernel-offset loop leaves them): a later one overwrites."""
    n, c, h, wd = x_shape
    kh, kw = w.shape[2:]
    xp = g.new_zeros((n, c, h + 2 * pad, wd + 2 * pad))
    spots = [(i, j) for i in range(g.shape[2]) for j in range(g.shape[3])]
    for i, j in reversed(spots) if reverse else spots:
        xp[:, :, i * stride : i * stride + kh, j * stride : j * stride + kw] = torch.einsum(
            "nf,fchw->nchw", g[:, :, i, j], w
        )
    return xp[:, :, pad : pad + h, pad : pad + wd]


def conv_variants() -> list[WVariant]:
    return [
        WVariant(
            "conv_flip",
            "flips the kernel (true convolution) where PyTorch computes cross-correlation",
            "out[n, f, i, j] = sum(x_window * w[f]) + b[f], with no w[:, :, ::-1, ::-1]",
            _conv("flip"),
        ),
        WVariant(
            "conv_flip",
            "computes dx with the kernel flipped (forward and dw right)",
            "dx: add dout[n, f, i, j] * w[f] (not flipped) into each window of dx",
            _conv("flip_dx"),
        ),
        WVariant(
            "conv_flip",
            "computes dw rotated 180 degrees (forward and dx right)",
            "dw[f] += x_window * dout[n, f, i, j]: each window as it is, not flipped",
            _conv("flip_dw"),
        ),
        WVariant(
            "conv_flip",
            "computes dw from dout rotated 180 degrees (convolve2d where correlate2d "
            "belongs; forward and dx right)",
            "dw[f, c] = correlate2d(x[c], dout[f], 'valid'), summed over the batch: each "
            "kernel entry is the inputs under it times dout, with no flip",
            _conv("flip_dout_dw"),
        ),
        WVariant(
            "conv_padding",
            "cuts dx from the padded gradient at its corner, dxp[:, :, :H, :W], where the "
            "padding puts it at dxp[:, :, pad:pad + H, pad:pad + W]",
            "dx = dxp[:, :, pad:pad + H, pad:pad + W] (the padding's offset on both sides)",
            _conv("crop"),
        ),
        *(
            WVariant(
                "conv_batch_sum",
                f"keeps only the last sample's {said} (= where += sums over the batch)",
                "accumulate over the batch: dw += ..., db += ... inside the loop over n",
                _conv(rule),
            )
            for rule, said in (("last", "dw and db"), ("last_dw", "dw"))
        ),
        *(
            WVariant(
                "conv_overlap",
                "writes dx with = where overlapping windows add (a later window overwrites "
                "an earlier one's share)",
                ASSIGN_FIX,
                _conv(rule),
            )
            for rule in ("assign", "assign_rev")
        ),
    ]
