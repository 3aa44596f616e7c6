"""The PyTorch twin's optimizers with an inverse-time learning-rate decay (``lr_decay``), which
``torch.optim`` offers only in Adagrad: a wrapper that sets each group's lr (and momentum)
before every step, and the one builder Adam and AdamW share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch


def inverse_time(
    make: Callable[[list], torch.optim.Optimizer],
    lr: float,
    lr_decay: float,
    scale_momentum: bool = True,
) -> Callable[[list], torch.optim.Optimizer]:
    """``make`` whose optimizer, before its n-th step (n from 0, ``opt.lr_steps``), sets every
    group's lr to lr / (1 + lr_decay n): ``LambdaLR(opt, lambda n: 1 / (1 + lr_decay n))``
    stepped after each step, kept inside ``step`` so every caller of it decays alike
    (torch.optim.Adagrad's own ``lr_decay``; nnfs's and Keras's ``decay``); a momentum takes
    mu lr_(n-1) / lr_n, as their velocity holds the lr (scratch's ``_mu_at``), unless
    ``scale_momentum`` is False (PyTorch's own buffer, which holds no lr: sgd's
    ``lr_outside=true``)."""
    if not lr_decay:
        return make

    def build(ps: list) -> torch.optim.Optimizer:
        opt = make(ps)
        inner = opt.step
        opt.lr_steps = 0  # type: ignore[attr-defined]
        mus = [g.get("momentum", 0.0) for g in opt.param_groups]

        def step(closure: Callable | None = None) -> Any:
            n = opt.lr_steps  # type: ignore[attr-defined]
            for group, mu in zip(opt.param_groups, mus, strict=True):
                group["lr"] = lr / (1.0 + n * lr_decay)
                if mu and n and scale_momentum:  # the velocity holds the lr: scratch's _mu_at
                    group["momentum"] = mu * (1.0 + n * lr_decay) / (1.0 + (n - 1) * lr_decay)
            opt.lr_steps = n + 1  # type: ignore[attr-defined]
            return inner(closure)

        opt.step = step  # type: ignore[method-assign]
        return opt

    return build


def adam_of(cls: type, lr: float, beta1: float, beta2: float, eps: float, weight_decay: float,
          amsgrad: bool, lr_decay: float) -> Callable:  # fmt: skip
    return inverse_time(
        lambda ps: cls(
            ps,
            lr=lr,
            betas=(beta1, beta2),
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            foreach=False,
        ),
        lr,
        lr_decay,
    )
