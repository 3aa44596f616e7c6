"""Whole-output candidates for dL/dz_L (the logits' layer under cross-entropy), computed per
step in ``diagnose.step_data``: softmax normalised over the wrong axis, and a softmax layer of
its own whose backward keeps only its Jacobian's diagonal."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .candidates import Deriv

Tensor = torch.Tensor


OUTPUT_DZ = {  # whole-output candidates for dL/dz_L, computed in ``diagnose.step_data``
    "softmax_diag": Deriv(
        "softmax_diag",
        "softmax_jacobian",
        "only the diagonal of your softmax layer's Jacobian, dz = dp * p (1 - p), without the "
        "-p_i p_j terms that couple the classes",
        1.0,
    ),
    "softmax_axis": Deriv(
        "softmax_axis",
        "softmax_axis",
        "softmax normalised over the samples instead of over the classes (axis 0 instead of "
        "1, samples as rows)",
        1.0,
    ),
}


def softmax_diag_dz(z: Tensor, y: Tensor, reduction: str) -> Tensor:
    """A separate softmax layer's backward with only its Jacobian's diagonal, under
    cross-entropy on its output p: dL/dp * p (1 - p) = -onehot (1 - p) (/ N)."""
    p = torch.softmax(z, dim=1)
    q = -F.one_hot(y, z.shape[1]).to(z.dtype) * (1 - p)
    return q / z.shape[0] if reduction in ("mean", "batch") else q


def softmax_axis_dz(z: Tensor, y: Tensor, reduction: str) -> Tensor:
    """(softmax over the batch - onehot) / N: cross-entropy's dz with the wrong axis."""
    p = torch.softmax(z, dim=0) - F.one_hot(y, z.shape[1]).to(z.dtype)
    return p / z.shape[0] if reduction in ("mean", "batch") else p
