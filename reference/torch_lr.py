"""The PyTorch twin's optimizers under a learning-rate schedule (``lr_decay``, ``lr_gamma``,
``lr_step_size``), which ``torch.optim`` offers only as schedulers stepped beside the
optimizer (and Adagrad's own ``lr_decay``): a wrapper that sets each group's lr (and
momentum) before every step, and the one builder Adam and AdamW share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch


def lr_factor(n: int, lr_decay: float, gamma: float, step_size: int) -> tuple[float, float]:
    """(gamma^(n // step_size), 1 + lr_decay n): the lr of step n (from 0) is lr times the
    first over the second."""
    return (gamma ** (n // step_size) if gamma != 1.0 else 1.0), 1.0 + n * lr_decay


def scheduled(
    make: Callable[[list], torch.optim.Optimizer],
    lr: float,
    lr_decay: float,
    lr_gamma: float = 1.0,
    lr_step_size: int = 1,
    scale_momentum: bool = True,
    decay_inside: bool = False,
) -> Callable[[list], torch.optim.Optimizer]:
    """``make`` whose optimizer, before its n-th step (n from 0, ``opt.lr_steps``), sets every
    group's lr to lr gamma^(n // step_size) / (1 + lr_decay n): ``LambdaLR`` stepped after each
    step, kept inside ``step`` so every caller of it schedules alike (an inverse-time decay:
    nnfs's and Keras's ``decay``; StepLR / ExponentialLR for ``lr_gamma``); a momentum takes
    mu lr_(n-1) / lr_n, as their velocity holds the lr, unless ``scale_momentum`` is False
    (PyTorch's own buffer, which holds no lr: sgd's ``lr_outside=true``). ``decay_inside``:
    the optimizer divides by 1 + lr_decay n itself (torch.optim.Adagrad)."""
    if not lr_decay and lr_gamma == 1.0:
        return make
    own_decay = 0.0 if decay_inside else lr_decay

    def build(ps: list) -> torch.optim.Optimizer:
        opt = make(ps)
        inner = opt.step
        opt.lr_steps = 0  # type: ignore[attr-defined]
        mus = [g.get("momentum", 0.0) for g in opt.param_groups]

        def step(closure: Callable | None = None) -> Any:
            n = opt.lr_steps  # type: ignore[attr-defined]
            up, down = lr_factor(n, own_decay, lr_gamma, lr_step_size)
            for group, mu in zip(opt.param_groups, mus, strict=True):
                group["lr"] = lr * up / down if own_decay else lr * up
                if mu and n and scale_momentum:  # the velocity holds the lr: mu lr_(n-1) / lr_n
                    if lr_decay:
                        mu = mu * (1.0 + n * lr_decay) / (1.0 + (n - 1) * lr_decay)
                    group["momentum"] = mu / lr_gamma if n % lr_step_size == 0 else mu
            opt.lr_steps = n + 1  # type: ignore[attr-defined]
            return inner(closure)

        opt.step = step  # type: ignore[method-assign]
        return opt

    return build


def adam_of(cls: type, lr: float, beta1: float, beta2: float, eps: float, weight_decay: float,
            amsgrad: bool, *schedule: Any) -> Callable:  # fmt: skip
    """torch.optim.Adam or AdamW (``cls``) under ``schedule`` (lr_decay, lr_gamma, lr_step_size)."""
    return scheduled(
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
        *schedule,
    )
