"""What a learner declares about its network (the translation between its arrays and scratch's
canonical parameters, ``W{l}`` (in, out) and ``b{l}`` (out,), is ``codec.Codec``).

Per layer l (n_in -> n_out) the learner holds a weight of shape (n_in, n_out) ("in_out") or
(n_out, n_in) ("out_in"), and a bias that is "separate" (any shape with n_out elements),
"folded" (an extra constant input: one more row/column of the weight, last or first) or "none".
The twin's weights then are ``W = M[:n_in]`` with ``M`` the learner's weight read as (in, out);
the twin's bias is the folded row. A layer without bias keeps a frozen zero bias in the twin.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from nnparity.scratch import Spec, losses, optimizers
from nnparity.scratch.spec_choice import choice, split_commas

from .paths import LearnerError

BIAS_KINDS = ("separate", "folded", "none")
LAYOUTS = ("in_out", "out_in")
Array = np.ndarray


def l2_on(name: str, l2: float | tuple, l2_bias: float | tuple) -> float:
    """The L2 coefficient on the canonical parameter ``name``: l2 on a weight, l2_bias on a
    bias (each one number, or one per layer: name's layer's), 0 on anything else."""
    lam = {"W": l2, "b": l2_bias}.get(name[:1], 0.0)
    return float(lam[int(name.lstrip("Wb")) - 1] if isinstance(lam, tuple) else lam)


def top(lam: float | tuple) -> float:
    """One number for a coefficient given per layer: the largest (0 for none)."""
    return float(max(lam, default=0.0) if isinstance(lam, tuple) else lam)


@dataclass(frozen=True)
class Conventions:
    """Sizes (input first), one activation per layer, loss + reduction, optimizer + lr, bias
    kind per layer, weight layout (None: inferred from shapes), fold position, batching, and
    ``l2``: an L2 penalty in the loss, l2/2 * sum of W^2 over the weights (not the biases), so
    each weight gradient gains l2 * W (the optimizer's ``weight_decay`` is torch's, applied in
    the update to every parameter, and is not part of the gradient); ``l2_bias`` likewise on
    the biases (nnfs's ``bias_regularizer_l2`` lambda is l2_bias = 2 lambda).
    ``clip_grad_value``, ``clip_grad_norm``: the gradients clipped before each update, as
    torch.nn.utils.clip_grad_value_ (each element to +-c) and clip_grad_norm_ (all of them
    together to a 2-norm of at most c) do; 0 clips nothing."""

    sizes: tuple[int, ...]
    activations: tuple[str, ...]
    loss: str = "mse"
    reduction: str | None = None
    optimizer: str = "sgd"
    lr: float | None = None
    bias: tuple[str, ...] = ()
    layout: str | None = None
    fold: str = "last"
    per_sample: bool = False
    batch_size: int | None = None
    l2: float | tuple[float, ...] = 0.0
    l2_in: str = "loss"
    l2_bias: float | tuple[float, ...] = 0.0
    clip_grad_value: float = 0.0
    clip_grad_norm: float = 0.0

    @classmethod
    def make(
        cls,
        sizes: Sequence[int],
        activations: str | Sequence[str],
        bias: str | Sequence[str] = "separate",
        **kw: Any,
    ) -> Conventions:
        """Validate and normalise: ``activations`` may be one comma-separated string, ``bias``
        one kind for every layer or one per layer."""
        sizes = tuple(int(s) for s in sizes)
        acts = split_commas(activations) if isinstance(activations, str) else activations
        acts = tuple(a.strip() for a in acts)
        n = len(sizes) - 1
        kinds = (bias,) * n if isinstance(bias, str) else tuple(bias)
        if len(kinds) != n or any(k not in BIAS_KINDS for k in kinds):
            raise LearnerError(
                f"bias must be one of {', '.join(BIAS_KINDS)}, or one per layer ({n}); got {bias!r}"
            )
        conv = cls(sizes, acts, bias=kinds, **kw)
        if conv.layout not in (None, *LAYOUTS):
            raise LearnerError(f"layout must be 'in_out' or 'out_in', got {conv.layout!r}")
        if conv.fold not in ("last", "first"):
            raise LearnerError(f"fold must be 'last' or 'first', got {conv.fold!r}")
        for key, what in (("l2", "W^2 over the weights"), ("l2_bias", "b^2 over the biases")):
            v = getattr(conv, key)
            each = list(v) if isinstance(v, list | tuple) else [v]
            if (len(each) not in (1, n) if isinstance(v, list | tuple) else False) or not all(
                _nonneg(x) for x in each
            ):
                raise LearnerError(
                    f"{key} must be a number >= 0 (the loss gains {key}/2 * sum {what}), or a "
                    f"list of one per layer ({n}), e.g. [5e-4, 0] for a penalty on layer 1 "
                    f"alone; got {v!r}"
                )
            if isinstance(v, list | tuple):  # one per layer: kept as a tuple (hashable)
                object.__setattr__(conv, key, tuple(float(x) for x in each) * (n // len(each)))
        for key, how in (("clip_grad_value", "each element"), ("clip_grad_norm", "their norm")):
            v = getattr(conv, key)
            if not isinstance(v, numbers.Real) or isinstance(v, bool | np.bool_) or not v >= 0:
                raise LearnerError(
                    f"{key} must be a number > 0 (your gradients are clipped, {how} to at most "
                    f"it, before each update; 0 clips nothing), got {v!r}"
                )
        if conv.l2_in not in ("loss", "update"):
            raise LearnerError(
                f"l2_in must be 'loss' (your gradients carry l2 * W) or 'update' (your update "
                f"decays the weights, w *= 1 - lr * l2, and your gradients do not), got "
                f"{conv.l2_in!r}"
            )
        conv.spec("float64")  # every name is checked here, with scratch's messages
        return conv

    def with_penalty(
        self, loss: float | None, grads: dict[str, Any], params: dict[str, Any]
    ) -> tuple[float | None, dict[str, Any]]:
        """(loss, gradients) with the L2 penalty added: l2 W to each weight's gradient,
        l2_bias b to each bias's, and l2/2 sum W^2 + l2_bias/2 sum b^2 to the loss (for a
        penalty the learner applies in its update, whose gradients are the data's)."""
        lam = partial(l2_on, l2=self.l2, l2_bias=self.l2_bias)
        grads = {k: g + lam(k) * params[k] if lam(k) else g for k, g in grads.items()}
        if loss is not None:
            loss += sum(lam(k) / 2 * float((v * v).sum()) for k, v in params.items())
        return loss, grads

    @property
    def clip(self) -> tuple[float, float]:
        """(clip_grad_value, clip_grad_norm): what ``Reference`` clips before each step."""
        return float(self.clip_grad_value), float(self.clip_grad_norm)

    @property
    def n_layers(self) -> int:
        return len(self.sizes) - 1

    @property
    def softmax_out(self) -> bool:
        """A softmax output under cross_entropy: the twin computes the loss on the logits (its
        last activation is identity) and compares softmax of them with the forward output."""
        return self.activations[-1] == "softmax" and self.loss.split("(")[0] == "cross_entropy"

    def spec(self, dtype: str) -> Spec:
        """The scratch spec of the twin (bias on when any layer has one)."""
        acts = self.activations[:-1] + ("identity",) if self.softmax_out else self.activations
        loss = choice(
            losses, self.loss, **({"reduction": self.reduction} if self.reduction else {})
        )
        opt = choice(optimizers, self.optimizer, **({"lr": self.lr} if self.lr is not None else {}))
        return Spec(
            self.sizes,
            acts,
            bias=any(k != "none" for k in self.bias),
            loss=loss,
            opt=opt,
            dtype=dtype,
        )

    def describe(self, layout: str, dtype: str) -> str:
        """One line: what the twin is built from, e.g.
        ``3-10-1 relu,sigmoid bias=folded,none layout=out_in loss=half_sse opt=sgd(lr=0.05)``."""
        spec = self.spec(dtype)
        kinds = self.bias[0] if len(set(self.bias)) == 1 else ",".join(self.bias)
        l2 = f" l2={coef_text(self.l2)}" if top(self.l2) else ""
        l2 += f" l2_bias={coef_text(self.l2_bias)}" if top(self.l2_bias) else ""
        l2 += " (in your update)" if l2 and self.l2_in == "update" else ""
        l2 += f" clip_grad_value={self.clip_grad_value:g}" if self.clip_grad_value else ""
        l2 += f" clip_grad_norm={self.clip_grad_norm:g}" if self.clip_grad_norm else ""
        acts = [str(a) for a in spec.activations]
        if self.softmax_out:
            acts[-1] = "softmax (cross_entropy on the logits)"
        return (
            f"{'-'.join(map(str, self.sizes))} {','.join(acts)} "
            f"bias={kinds} layout={layout} loss={spec.loss}{l2} opt={spec.opt} dtype={dtype}"
        )

    def slot_names(self) -> list[tuple[int, str]]:
        """(layer, role) in canonical order; role "W", "b" (separate) or "Wb" (folded)."""
        out = []
        for l, kind in enumerate(self.bias, start=1):
            out += (
                [(l, "W"), (l, "b")]
                if kind == "separate"
                else [(l, "Wb" if kind == "folded" else "W")]
            )
        return out


def _nonneg(x: Any) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool | np.bool_) and x >= 0


def coef_text(lam: float | tuple) -> str:
    """A coefficient as declared: ``5e-4`` or ``[5e-4, 0]`` (one per layer)."""
    return f"[{', '.join(f'{x:g}' for x in lam)}]" if isinstance(lam, tuple) else f"{lam:g}"


def lr_of(opt: Any) -> float | None:
    """The learning rate an optimizer choice (``spec.opt``) runs at: its own, or its
    optimizer's default, which a spec leaves out when it is given (``sgd(lr=0.001)`` reads
    back as ``sgd``: review s25g F2); None for an optimizer without one."""
    lr = opt.kwargs.get("lr")
    if lr is None and opt.name in optimizers:
        lr = optimizers[opt.name].defaults.get("lr")
    return None if lr is None else float(lr)
