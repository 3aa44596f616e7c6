"""An update inside backward made before the layer's dx: a dense or conv layer that updates its
weights first and then hands down dx with the updated W (The Independent Code's ``Dense``
with its two lines swapped, Victor Zhou's softmax layer updating before ``d_L_d_inputs``). The
twin with that layer's dx computed from W - lr dW (the learner's own dW, the declared SGD step)
while its forward and its own dW stay as they are: named where it reproduces the learner's
loss and every gradient, first for every such layer at once (one class of the learner's serves
them all), then for each alone, top first."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nnparity.reference.compare import Record
from nnparity.reference.twin import layout

from .layered_reference import LayeredRef
from .result import Finding

Array = np.ndarray


class _UpdatedDx(nn.Module):
    """``mod``'s output, with a dx as if its weight were W + D: the term x * D adds nothing to
    the value and D's contribution to the gradient of x."""

    def __init__(self, mod: nn.Module, D: torch.Tensor):
        super().__init__()
        self.mod, self.D = mod, D

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if isinstance(self.mod, nn.Conv2d):
            c = F.conv2d(x, self.D, None, self.mod.stride, self.mod.padding)
        else:
            c = F.linear(x, self.D)
        return self.mod(x) + (c - c.detach())


def updated_dx(
    ref: LayeredRef,
    core: list[Record],
    P: dict,
    B0: dict,
    X: Array,
    y: Array,
    masks: dict,
    loss: float | None,
    G: dict,
    k: int,
    learner: Any,
    reproduces: Any,
) -> Finding | None:
    """``updated_weights_used`` for the layers whose dx the learner computed after its update
    (see the module), or None. Plain SGD only: the update is W - lr dW."""
    opt = ref.decl.spec.opt
    lr = opt.kwargs.get("lr")
    if opt.name != "sgd" or not lr or any(v for key, v in opt.kwargs.items() if key != "lr"):
        return None
    layers = [n for n in sorted(ref.index, reverse=True)[:-1] if ref.kind[n] in ("dense", "conv")]
    groups = ([layers] if len(layers) > 1 else []) + [[n] for n in layers]
    for group in groups:
        mods = {}
        for n in group:
            D = torch.from_numpy(np.ascontiguousarray(layout("W", -lr * G[f"W{n}"])))
            mods[ref.index[n]] = _UpdatedDx(ref.twin.module[ref.index[n]], D.double())
        if reproduces(ref.run(P, B0, X, y, masks, replace=mods), loss, G):
            paths = tuple(learner.a.paths[learner.names.index(f"W{n}")] for n in group)
            where = ", ".join(f"{n} ({ref.kind[n]})" for n in group)
            return Finding(
                "updated_weights_used",
                paths,
                max(group),
                k,
                f"layer{'s' if len(group) > 1 else ''} {where} hand{'' if len(group) > 1 else 's'}"
                f" down dx computed with the weights after their update (W - lr dW): PyTorch "
                "with that reproduces your loss and every gradient (first parted: "
                f"{', '.join(r.tensor for r in core[:4])})",
                "in backward, compute the gradient you hand down (dx = dy W, input_gradient) "
                "before updating W, or keep W from before the update for it",
            )
    return None


class StaleInputW(nn.Module):
    """``mod``'s output and dx from this step's input, its weight gradient from ``x1`` (the
    input of an earlier call, cached once: Victor Zhou's ``last_input`` set on the first call
    only): the term x1 * W adds nothing to the value."""

    def __init__(self, mod: nn.Module, x1: torch.Tensor):
        super().__init__()
        self.mod, self.x1 = mod, x1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = self.mod
        if isinstance(m, nn.Conv2d):

            def f(inp: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None) -> torch.Tensor:
                return F.conv2d(inp, w, b, m.stride, m.padding)
        else:

            def f(inp: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None) -> torch.Tensor:
                return F.linear(inp, w, b)

        c = f(self.x1, m.weight, None)
        return f(x, m.weight.detach(), m.bias) + (c - c.detach())
