"""PyTorch's loss modules with the 'batch' reduction too: summed, then divided by the batch's
rows (each sample's outputs summed, averaged over the samples)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


class _PerSample(nn.Module):
    """reduction='batch': the summed loss over the batch's samples (rows)."""

    def __init__(self, summed: nn.Module):
        super().__init__()
        self.summed = summed

    def forward(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.summed(out, y) / out.shape[0]


def reduced(make: Callable[..., nn.Module], reduction: str, **kw: object) -> nn.Module:
    if reduction == "batch":
        return _PerSample(make(reduction="sum", **kw))
    return make(reduction=reduction, **kw)
