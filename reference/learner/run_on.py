"""A declared run continued: its learning-rate schedule runs on from the steps already taken
(review s46 F3: "run on for N more steps" started the schedule anew from the trained
weights, reaching what the schedule, continued, never does)."""

from __future__ import annotations

from nnparity.scratch import Spec, optimizers
from nnparity.scratch.schedules import lr_at, of
from nnparity.scratch.spec_choice import choice

from .conventions import lr_of


def continued(spec: Spec, done: int) -> Spec:
    """``spec`` whose optimizer's schedule starts where ``done`` steps of the declared one
    left it: lr gamma^(done // s) / (1 + d done) and decay d / (1 + d done) (a staircase's
    phase aside); ``spec`` itself without a schedule."""
    sched = of(spec.opt.kwargs)
    if not sched:
        return spec
    kw = dict(spec.opt.kwargs)
    lr, d = lr_of(spec.opt), sched.decay
    kw["lr"] = lr * sched.gamma ** (done // sched.step_size) / (1 + d * done)
    if d:
        kw["lr_decay"] = d / (1 + d * done)
    return spec.replace(opt=choice(optimizers, spec.opt.name, **kw))


def stopped(spec: Spec, done: int) -> tuple[str, str] | None:
    """(evidence, fix) where ``done`` steps of the declared schedule took the lr below 1e-3
    of its start: the steps after move the weights no more; else None."""
    sched, lr = of(spec.opt.kwargs), lr_of(spec.opt)
    if not sched or not lr or lr_at(lr, sched, done) >= 1e-3 * lr:
        return None
    return (
        f"; by step {done} your schedule has taken the lr from {lr:g} to "
        f"{lr_at(lr, sched, done):.3g}",
        "decay the learning rate more gently (a lr_gamma nearer 1, a larger lr_step_size or a "
        "smaller lr_decay): the steps left move the weights no more",
    )
