"""A named wrong version of one layer (``WVariant``): a PyTorch module, made from the twin's
own module for that layer, that replaces it in the twin."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class WVariant:
    code: str
    what: str
    fix: str
    make: Callable[[nn.Module], nn.Module | None]


class Fn(nn.Module):
    """A module computing ``f(x)``."""

    def __init__(self, f: Callable[[torch.Tensor], torch.Tensor]):
        super().__init__()
        self.f = f

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.f(x)
