"""The PyTorch side of every registered loss, under the same name and hyperparameters as in
``scratch.losses``: ``torch.nn`` losses where PyTorch has one, else written of tensor ops
(with a second derivative: the round-off bounds take it)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from nnparity.scratch.registry import Registry

from .reductions import reduced

torch_losses: Registry[Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = Registry("loss")
loss = torch_losses.register


# -- losses -------------------------------------------------------------------------------
@loss()
def mse(reduction: str = "mean") -> nn.Module:
    return reduced(nn.MSELoss, reduction)


def _squares(c: float, reduction: str) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """c ||a - y||^2 summed, averaged over the rows ('mean' or 'batch') or not ('sum')."""

    def f(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        total = c * nn.functional.mse_loss(out, y, reduction="sum")
        return total / out.shape[0] if reduction in ("mean", "batch") else total

    return f


@loss()
def half_sse(reduction: str = "mean") -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    return _squares(0.5, reduction)


@loss()
def sse(reduction: str = "mean") -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    return _squares(1.0, reduction)


@loss()
def huber(delta: float = 1.0, reduction: str = "mean") -> nn.Module:
    return reduced(nn.HuberLoss, reduction, delta=delta)


@loss()
def l1(reduction: str = "mean") -> nn.Module:
    return reduced(nn.L1Loss, reduction)


@loss()
def hinge(margin: float = 1.0, reduction: str = "mean") -> Callable:
    def f(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        per = torch.relu(margin - y * out)  # relu: 0 at the kink, as scratch's
        if reduction == "mean":
            return per.mean()
        return per.sum() / out.shape[0] if reduction == "batch" else per.sum()

    return f


@loss()
def multi_margin(margin: float = 1.0, reduction: str = "mean") -> Callable:
    """PyTorch's MultiMarginLoss for 'mean' (the plain total for 'sum', the mean over the
    samples for 'batch': its per-sample loss keeps a 1/K), written of ops: the round-off
    bounds take its second derivative, which aten's multi_margin_loss_backward has not."""

    def f(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        n, k = out.shape
        others = 1 - nn.functional.one_hot(y, k).to(out.dtype)
        total = (torch.relu(margin - out.gather(1, y[:, None]) + out) * others).sum()
        return (
            total / (n * k) if reduction == "mean" else total / n if reduction == "batch" else total
        )

    return f


@loss()
def bce(reduction: str = "mean") -> nn.Module:
    return reduced(nn.BCELoss, reduction)


@loss()
def bce_with_logits(reduction: str = "mean") -> nn.Module:
    return reduced(nn.BCEWithLogitsLoss, reduction)


@loss()
def cross_entropy(label_smoothing: float = 0.0, reduction: str = "mean") -> nn.Module:
    red = "mean" if reduction == "batch" else reduction  # one value per sample already
    return nn.CrossEntropyLoss(reduction=red, label_smoothing=label_smoothing)


@loss()
def nll(reduction: str = "mean") -> nn.Module:
    return nn.NLLLoss(reduction="mean" if reduction == "batch" else reduction)
