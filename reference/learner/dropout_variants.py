"""Named wrong versions of a dropout layer inside a whole network: backward without the mask
(``dx = dout`` or ``dout / keep``), with the mask but no ``1 / keep``, or with a fresh mask
(the next draw of the replayed generator; also beside the forward's, where the derivative below
is read off the dropped output); or the mask applied in place to a sigmoid's or
tanh's output, whose derivative is then read at the dropped values (iamtrask's dropout post:
``layer_1 *= mask``, then ``layer_1 * (1 - layer_1)``), with or without the mask on dx."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from .layer_swap import Fn, WVariant

MASK_FIX = "dx = dout * mask / keep, with the mask the forward used (keep it in the cache)"


class _MaskGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, fwd, bwd):  # noqa: ANN001, ANN205
        ctx.save_for_backward(bwd)
        return x * fwd

    @staticmethod
    def backward(ctx, g):  # noqa: ANN001, ANN205
        (bwd,) = ctx.saved_tensors
        return g * bwd, None, None


INPLACE = {  # an activation whose derivative is read from its output a, by that a
    "sigmoid": lambda a: a * (1 - a),
    "tanh": lambda a: 1 - a * a,
}
INPLACE_FIX = (
    "apply dropout to a new array (a_drop = a * mask / keep) and keep a itself for the "
    "derivative; a *= mask overwrites the output the derivative is read from"
)


def _drop(rule: str, fresh: torch.Tensor | None = None) -> Callable[[nn.Module], nn.Module | None]:
    def make(d: nn.Module) -> nn.Module | None:
        if rule.startswith("fresh") and fresh is None:
            return None
        keep = 1.0 - d.p if getattr(d, "inverted", True) else 1.0  # (the paper's form: 1)
        if rule == "noninverted" and keep == 1.0:
            return None  # declared so: no slip

        def f(x: torch.Tensor) -> torch.Tensor:
            m = d.mask.to(x.dtype)
            if rule == "noninverted":  # x * mask both ways, no 1 / keep
                return _MaskGrad.apply(x, m, m)
            act, _, masked = rule.partition(" ")
            if act in INPLACE:  # the derivative below read back at the dropped output
                d_at = INPLACE[act]
                with torch.no_grad():
                    below = d_at(x)
                    ratio = torch.where(below != 0, d_at(x * m / keep) / below, 0.0)
                return _MaskGrad.apply(x, m / keep, ratio * (m / keep if masked else 1.0))
            bwd = {
                "none": torch.ones_like(x),
                "none_scaled": torch.ones_like(x) / keep,
                "unscaled": m,
                "fresh": None if fresh is None else fresh.to(x.dtype) / keep,
                "fresh_kept": None if fresh is None else fresh.to(x.dtype) * m / keep,
            }[rule]
            return _MaskGrad.apply(x, m / keep, bwd)

        return Fn(f)

    return make


def dropout_variants(fresh: torch.Tensor | None = None) -> list[WVariant]:
    """The dropout variants (``fresh``: the mask a fresh draw gives, if known)."""
    return [
        WVariant("dropout_mask", "backward applies no mask (dx = dout)", MASK_FIX, _drop("none")),
        WVariant(
            "dropout_mask",
            "backward applies no mask (dx = dout / keep)",
            MASK_FIX,
            _drop("none_scaled"),
        ),
        WVariant(
            "dropout_mask",
            "backward applies the mask without 1 / keep",
            MASK_FIX,
            _drop("unscaled"),
        ),
        WVariant(
            "dropout_mask",
            "backward draws a fresh mask (the next draw of NumPy's generator)",
            MASK_FIX,
            _drop("fresh", fresh),
        ),
        WVariant(
            "dropout_mask",
            "backward draws a fresh mask (the next draw of NumPy's generator), and the "
            "forward's stays too: the derivative below is read off the dropped output "
            "(Ng's dZ1 = dA1 * (A1 > 0) with A1 after dropout), so dx holds both masks",
            MASK_FIX,
            _drop("fresh_kept", fresh),
        ),
        WVariant(
            "dropout_mask",
            "non-inverted dropout: x * mask with no 1 / keep in training, forward and backward "
            "(the original paper's form, whose test pass scales by keep instead; its training "
            "outputs and gradients are not PyTorch's inverted dropout's)",
            "if your test pass scales by keep (the paper's form, Deep Learning from Scratch's "
            "Dropout), declare it: dropout(p,inverted=false) in your spec; else scale by 1 / "
            "keep in training as PyTorch does (inverted dropout, x * mask / keep, dx = dout * "
            "mask / keep) and leave test mode the identity",
            _drop("noninverted"),
        ),
    ] + [
        WVariant(
            "inplace_mutation",
            f"the mask is applied in place to the {act} output below it (a *= mask), "
            f"so that {act}'s derivative, read from its output, is taken at the dropped "
            f"values{how}",
            INPLACE_FIX,
            _drop(f"{act}{rule}"),
        )
        for act in INPLACE
        for rule, how in (("", ""), (" masked", " (and the mask applied to dx as well)"))
    ]
