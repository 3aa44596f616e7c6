"""A derivative candidate (``Deriv``) and the elementwise derivative of a function by autograd
(``prime``): what ``candidates`` and the families beside it (``gated``) are built from."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

Tensor = torch.Tensor


@dataclass(frozen=True)
class Deriv:
    """A candidate for an activation's derivative: its ``code`` and the words that name it."""

    key: str
    code: str | None  # None: the true derivative, or a kink convention (not a bug)
    label: str
    cost: float
    mult: Callable[[Tensor, Tensor], Tensor] | None = None  # f'(z) replacement; None = vjp


def prime(fn: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    """Elementwise derivative of ``fn`` at ``x`` by autograd."""
    x = x.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(fn(x).sum(), x)
    return g.detach()
