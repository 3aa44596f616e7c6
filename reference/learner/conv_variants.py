"""Named wrong versions of a conv layer (LEARNER_BUGS.md class 19): a flipped kernel, a window
origin without the stride (on both axes, or on one: an im2col index that leaves it out of the
columns' or the rows' offsets), dw and db of the last sample alone, db per position, and dx
written with ``=`` where overlapping windows add (``+=``, ``np.add.at``)."""

from __future__ import annotations

import numpy as np

from .layer_cases import Case
from .variant_base import Variant, _torch_variant

Array = np.ndarray


def _conv(flip: bool = False, origin_stride1: str = ""):
    """PyTorch's conv with the kernel flipped, or with window (i, j) starting at (i, j)
    instead of (i s, j s) on ``origin_stride1``'s axes ("both", "rows", "cols")."""

    def make(case: Case):
        import torch.nn.functional as F

        cp = case.layer_param or {}
        s, pad = cp["stride"], cp["pad"]
        if origin_stride1 and s == 1:
            return None
        rows, cols = origin_stride1 in ("both", "rows"), origin_stride1 in ("both", "cols")

        def g(x, w, b):
            k = w.flip(-1, -2) if flip else w
            if not origin_stride1:
                return F.conv2d(x, k, b, stride=s, padding=pad)
            full = F.conv2d(x, k, b, stride=(1 if rows else s, 1 if cols else s), padding=pad)
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


def _conv_dw_flipped(case: Case, dout: Array) -> dict[str, Array] | None:
    """dw with dout rotated 180 degrees: scipy's convolve2d(x, dout) where correlate2d
    belongs (review s32 F10: The Independent Code's kernels_gradient so written)."""
    import torch
    import torch.nn.functional as F

    cp = case.layer_param or {}
    x = torch.tensor(case.x)
    w = torch.tensor(case.params["w"], requires_grad=True)
    b = torch.tensor(case.params["b"]) if "b" in case.params else None
    out = F.conv2d(x, w, b, stride=cp["stride"], padding=cp["pad"])
    if out.shape != dout.shape:
        return None
    (dw,) = torch.autograd.grad(out, [w], torch.tensor(dout).flip(-1, -2))
    return {"dw": dw.numpy()}


def _conv_db_per_position(case: Case, dout: Array) -> dict[str, Array] | None:
    return {"db": dout.sum(axis=0)}


def _conv_assign(reverse: bool):
    """dx with ``=`` where overlapping windows add: each padded input position keeps the share
    (dout[n, f, i, j] w[f], summed over f) of the window written last, windows in row-major
    order (loops over i, j), or ``reverse``d (a col2im ``x_pad[:, k, i, j] = cols`` writes
    the kernel offsets in row-major order, so a position keeps the first window over it)."""

    def tensors(case: Case, dout: Array) -> dict[str, Array] | None:
        cp = case.layer_param or {}
        s, pad = cp["stride"], cp["pad"]
        w = case.params["w"]
        kh, kw = w.shape[2:]
        if s >= kh and s >= kw:
            return None  # no window overlaps another: = and += agree
        n, c, h, wd = case.x.shape
        xp = np.zeros((n, c, h + 2 * pad, wd + 2 * pad))
        spots = [(i, j) for i in range(dout.shape[2]) for j in range(dout.shape[3])]
        for i, j in reversed(spots) if reverse else spots:
            xp[:, :, i * s : i * s + kh, j * s : j * s + kw] = np.einsum(
                "nf,fchw->nchw", dout[:, :, i, j], w
            )
        return {"dx": xp[:, :, pad : pad + h, pad : pad + wd]}

    return tensors


STRIDE_FIX = (
    "the window of output (i, j) starts at row i * stride, column j * stride of the padded "
    "input (im2col: both offsets, the rows' i1 and the columns' j1, times the stride)"
)
ASSIGN_FIX = (
    "add each window's share into dx with += (np.add.at(x_pad, (slice(None), k, i, j), cols) "
    "in a col2im): where windows overlap, a position takes the sum over every window on it"
)

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
        "conv_flip",
        "computes dw with dout rotated 180 degrees (convolve2d where correlate2d belongs)",
        "dw[f, c] = correlate2d(x[n, c], dout[n, f], 'valid') summed over n: each kernel "
        "entry is the sum of the inputs under it times dout, with no flip",
        _conv_dw_flipped,
    ),
    Variant(
        "conv_stride",
        "starts window (i, j) at (i, j) instead of (i * stride, j * stride)",
        STRIDE_FIX,
        _torch_variant(_conv(origin_stride1="both")),
    ),
    Variant(
        "conv_stride",
        "starts window (i, j) at column j instead of j * stride (the stride left out of the "
        "columns' offset)",
        STRIDE_FIX,
        _torch_variant(_conv(origin_stride1="cols")),
    ),
    Variant(
        "conv_stride",
        "starts window (i, j) at row i instead of i * stride (the stride left out of the rows' "
        "offset)",
        STRIDE_FIX,
        _torch_variant(_conv(origin_stride1="rows")),
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
    Variant(
        "conv_overlap",
        "writes dx with = where overlapping windows add (a later window overwrites an "
        "earlier one's share)",
        ASSIGN_FIX,
        _conv_assign(reverse=False),
    ),
    Variant(
        "conv_overlap",
        "writes dx with = where overlapping windows add (a col2im assignment, x_pad[:, k, i, j] "
        "= cols, keeps one window's share where several overlap)",
        ASSIGN_FIX,
        _conv_assign(reverse=True),
    ),
]
