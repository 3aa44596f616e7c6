"""The learning rate over the steps: one ``Schedule`` per optimizer, from its ``lr_decay``,
``lr_gamma`` and ``lr_step_size`` options, and the momentum that keeps a velocity holding
the lr (nnfs's, Keras's) in step with PyTorch's buffer under it."""

from __future__ import annotations

import math
from typing import NamedTuple

from .errors import SpecError


class Schedule(NamedTuple):
    """The learning rate after n steps: lr gamma^(n // step_size) / (1 + decay n), PyTorch's
    ``LambdaLR`` stepped after each step. ``decay`` (``lr_decay``) is an inverse-time decay
    (torch.optim.Adagrad's ``lr_decay``, the nnfs book's and Keras's ``decay``); ``gamma``
    every ``step_size`` steps (``lr_gamma``, ``lr_step_size``) is PyTorch's StepLR, its
    ExponentialLR where step_size is 1 (Keras's ExponentialDecay with staircase=True)."""

    decay: float = 0.0
    gamma: float = 1.0
    step_size: int = 1

    def __bool__(self) -> bool:  # False: a constant lr
        return bool(self.decay) or self.gamma != 1.0


def schedule(name: str, lr_decay: float, lr_gamma: float, lr_step_size: int) -> Schedule:
    """Optimizer ``name``'s ``lr_decay``, ``lr_gamma`` and ``lr_step_size``, validated."""
    inf = math.inf
    for key, value in (("lr_decay", lr_decay), ("lr_gamma", lr_gamma)):
        if not (value >= 0 if key == "lr_decay" else value > 0) or value == inf:
            low = "[0" if key == "lr_decay" else "(0"
            raise SpecError(f"{name} {key}={value} is out of range: it must lie in {low}, inf)")
    if isinstance(lr_step_size, bool) or not float(lr_step_size).is_integer() or lr_step_size < 1:
        raise SpecError(
            f"{name} lr_step_size={lr_step_size} must be a whole number of steps >= 1 (the lr "
            "is multiplied by lr_gamma once every lr_step_size steps)"
        )
    return Schedule(float(lr_decay), float(lr_gamma), int(lr_step_size))


def lr_at(lr: float, sched: Schedule, done: int) -> float:
    """The learning rate of the step after ``done`` steps under ``sched`` (``Schedule``); lr
    itself, to the bit, under a constant one."""
    if sched.gamma != 1.0:
        lr = lr * sched.gamma ** (done // sched.step_size)
    return lr / (1.0 + done * sched.decay) if sched.decay else lr


def mu_at(mu: float, sched: Schedule, done: int) -> float:
    """The momentum of the step after ``done`` (>= 1) steps under a changing lr: as nnfs and
    Keras keep the learning rate inside the velocity (v <- mu v - lr_t g; w <- w + v), PyTorch's
    form b <- mu_t b + g, w <- w - lr_t b takes the same steps with mu_t = mu lr_(t-1) / lr_t.
    mu itself under a constant lr."""
    if sched.decay:
        mu = mu * (1.0 + done * sched.decay) / (1.0 + (done - 1) * sched.decay)
    if sched.gamma != 1.0 and done % sched.step_size == 0:
        mu = mu / sched.gamma
    return mu


def of(kwargs: dict) -> Schedule:
    """The schedule an optimizer's keyword options name (a constant lr where none)."""
    return Schedule(
        float(kwargs.get("lr_decay", 0.0) or 0.0),
        float(kwargs.get("lr_gamma", 1.0)),
        int(kwargs.get("lr_step_size", 1)),
    )
