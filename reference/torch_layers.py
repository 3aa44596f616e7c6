"""The twin's layer modules that differ from ``torch.nn``'s: no random initialisation (scratch's
weights are copied in), and dropout with scratch's mask."""

from __future__ import annotations

import torch
from torch import nn


class Conv2d(nn.Conv2d):
    """``nn.Conv2d`` without its random initialisation: scratch's weights are copied in."""

    def reset_parameters(self) -> None:
        pass


class LinearNoInit(nn.Linear):
    """``nn.Linear`` without its random initialisation: scratch's weights are copied in."""

    def reset_parameters(self) -> None:
        pass


class MaskedDropout(nn.Module):
    """Inverted dropout with a mask given from outside (scratch's): y = x * (mask / (1 - p))
    in training (the order of torch's own ``x * noise``, noise = bernoulli(1 - p) / (1 - p)),
    identity in eval mode; ``inverted=False``: x * mask in training, (1 - p) x in eval (the
    original paper's form, which torch has no module for). ``mask`` is set before each
    training forward pass."""

    def __init__(self, p: float, inverted: bool = True):
        super().__init__()
        self.p, self.inverted = p, inverted
        self.mask: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return x if self.inverted else x * (1 - self.p)
        if self.mask is None:
            raise RuntimeError("MaskedDropout needs scratch's mask: pass masks= to Twin.step")
        return x * (self.mask.to(x.dtype) / (1 - self.p if self.inverted else 1.0))
