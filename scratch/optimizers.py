"""Optimizers as ``Optimizer(init, update)`` pairs over a params dict (name -> array):

    state = init(params)
    params, state = update(grads, state, params)

Pure: nothing is modified in place, except that ``update(..., donate=True)`` may write the
new parameters into the gradient arrays (as JAX's donated buffers): ``train_step`` donates the
gradients its own backward pass made, which nobody else sees, and saves allocating (and
faulting in) a parameter-sized array per tensor and step. Hyperparameters live in the closure;
the state is a small NamedTuple whose fields are named as PyTorch's ``optimizer.state`` keys
(``step``, ``momentum_buffer``, ``exp_avg``, ...), each a dict name -> array (``step`` an int),
so the two can be compared key by key. Updates follow torch 2.13's single-tensor path
(CONVENTIONS.md section 4): weight decay is L2 added to the gradient (AdamW: decoupled,
``p *= 1 - lr wd`` first); the momentum buffer holds gradient units and is ``g`` itself on the
first step; Adam's t starts at 1 and its eps is added after the bias-corrected square root.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from .blocks import MIN_SIZE, blockwise
from .errors import SpecError
from .registry import Registry
from .schedules import Schedule
from .schedules import lr_at as _lr_at
from .schedules import mu_at as _mu_at
from .schedules import schedule as _schedule

Array = np.ndarray
Params = dict[str, Array]


class Optimizer(NamedTuple):
    init: Callable[[Params], NamedTuple]
    update: Callable[..., tuple[Params, NamedTuple]]  # (grads, state, params, *, donate=False)


optimizers: Registry[Optimizer] = Registry("optimizer")
register = optimizers.register


def _check(name: str, **bounds: tuple[float, float, float, bool]) -> None:
    """bounds: key -> (value, low, high, low_inclusive); high is exclusive."""
    for key, (value, low, high, low_inclusive) in bounds.items():
        ok = (value >= low if low_inclusive else value > low) and value < high
        if not ok:
            lo = "[" if low_inclusive else "("
            raise SpecError(
                f"{name} {key}={value} is out of range: it must lie in {lo}{low}, {high})"
            )


def _zeros(params: Params) -> dict[str, Array]:
    return {k: np.zeros_like(v) for k, v in params.items()}


def _step(p: Array, lr: float, d: Array, into: Array | None = None) -> Array:
    """p - lr d, into ``into`` (a donated gradient buffer of p's shape and dtype) when given,
    else a new array; block by block for a large tensor (``blocks.blockwise``): one pass
    over memory instead of three, the same operations and bits."""
    if into is None or into.dtype != p.dtype or into.shape != p.shape or into is p:
        into = None
    if d.size < MIN_SIZE:  # in cache anyway: the two ufuncs as they are (1.5 us less a call)
        out = np.multiply(d, -lr, out=into)
        out += p
        return out
    if into is None:
        into = np.empty(d.shape, np.result_type(d, -lr))  # as np.multiply(d, -lr) makes

    def kernel(d: Array, p: Array, out: Array) -> None:
        np.multiply(d, -lr, out=out)
        out += p

    blockwise(kernel, d, p, into)
    return into


def _decay(g: Array, p: Array, weight_decay: float) -> Array:
    return g + weight_decay * p if weight_decay else g


class SGDState(NamedTuple):
    step: int
    momentum_buffer: dict[str, Array]


@register()
def sgd(
    lr: float = 1e-3,
    momentum: float = 0.0,
    dampening: float = 0.0,
    weight_decay: float = 0.0,
    nesterov: bool = False,
    lr_decay: float = 0.0,
    lr_gamma: float = 1.0,
    lr_step_size: int = 1,
    lr_outside: bool = False,
) -> Optimizer:
    """g <- g + wd p; b <- g on the first step, then b <- mu b + (1 - dampening) g;
    g <- g + mu b if nesterov else b; p <- p - lr_t g. (torch.optim.SGD; lr_t: ``_lr_at``.)
    Under a decaying lr the velocity holds the lr (nnfs's and Keras's v = mu v - lr_t g: mu
    becomes ``_mu_at``'s), or with ``lr_outside`` the lr stays outside the buffer (PyTorch's
    SGD with LambdaLR, b = mu b + g). The two take the same steps at a constant lr."""
    inf = math.inf
    _check(
        "sgd",
        lr=(lr, 0, inf, False),
        momentum=(momentum, 0, inf, True),
        dampening=(dampening, 0, inf, True),
        weight_decay=(weight_decay, 0, inf, True),
    )
    if nesterov and (momentum <= 0 or dampening != 0):
        raise SpecError("sgd nesterov=true needs momentum > 0 and dampening = 0")
    sched = _schedule("sgd", lr_decay, lr_gamma, lr_step_size)
    if nesterov and sched:
        raise SpecError(
            "sgd nesterov=true takes no lr_decay or lr_gamma (the look-ahead's form under a "
            "changing lr differs between PyTorch and Keras): drop one"
        )

    def init(params: Params) -> SGDState:
        return SGDState(0, _zeros(params) if momentum else {})

    def update(
        grads: Params, state: SGDState, params: Params, *, donate: bool = False
    ) -> tuple[Params, SGDState]:
        new_p, bufs = {}, {}
        lr_t = _lr_at(lr, sched, state.step)
        for k, p in params.items():
            g = _decay(grads[k], p, weight_decay)
            if momentum:
                if state.step == 0:
                    b = g.copy()
                else:
                    mu = momentum if lr_outside else _mu_at(momentum, sched, state.step)
                    b = mu * state.momentum_buffer[k] + (1.0 - dampening) * g
                bufs[k] = b
                g = g + momentum * b if nesterov else b
            new_p[k] = _step(p, lr_t, g, grads[k] if donate else None)
        return new_p, SGDState(state.step + 1, bufs)

    return Optimizer(init, update)


class AdamState(NamedTuple):
    step: int
    exp_avg: dict[str, Array]
    exp_avg_sq: dict[str, Array]
    max_exp_avg_sq: dict[str, Array]


def _adam(
    name: str,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    amsgrad: bool,
    decoupled: bool,
    sched: Schedule,
) -> Optimizer:
    inf = math.inf
    _check(
        name,
        lr=(lr, 0, inf, False),
        beta1=(beta1, 0, 1, True),
        beta2=(beta2, 0, 1, True),
        eps=(eps, 0, inf, True),
        weight_decay=(weight_decay, 0, inf, True),
    )

    def init(params: Params) -> AdamState:
        return AdamState(0, _zeros(params), _zeros(params), _zeros(params) if amsgrad else {})

    def update(
        grads: Params, state: AdamState, params: Params, *, donate: bool = False
    ) -> tuple[Params, AdamState]:
        t = state.step + 1
        lr_t = _lr_at(lr, sched, state.step)
        step_size = lr_t / (1.0 - beta1**t)
        bc2_sqrt = math.sqrt(1.0 - beta2**t)
        new_p, m_all, v_all, vmax_all = {}, {}, {}, {}
        for k, p in params.items():
            g = grads[k]
            if decoupled:
                p = p * (1.0 - lr_t * weight_decay)
            else:
                g = _decay(g, p, weight_decay)
            m = state.exp_avg[k]
            m = m + (1.0 - beta1) * (g - m)
            v = beta2 * state.exp_avg_sq[k] + (1.0 - beta2) * (g * g)
            m_all[k], v_all[k] = m, v
            if amsgrad:
                v = vmax_all[k] = np.maximum(state.max_exp_avg_sq[k], v)
            d = m / (np.sqrt(v) / bc2_sqrt + eps)
            new_p[k] = _step(p, step_size, d, grads[k] if donate else None)
        return new_p, AdamState(t, m_all, v_all, vmax_all)

    return Optimizer(init, update)


@register()
def adam(
    lr: float = 1e-3,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    amsgrad: bool = False,
    lr_decay: float = 0.0,
    lr_gamma: float = 1.0,
    lr_step_size: int = 1,
) -> Optimizer:
    """g <- g + wd p; m <- m + (1 - b1)(g - m); v <- b2 v + (1 - b2) g^2; (amsgrad: v <- max);
    p <- p - lr_t/(1 - b1^t) m / (sqrt(v)/sqrt(1 - b2^t) + eps). (torch.optim.Adam; lr_t:
    ``_lr_at``)"""
    sched = _schedule("adam", lr_decay, lr_gamma, lr_step_size)
    return _adam("adam", lr, beta1, beta2, eps, weight_decay, amsgrad, False, sched)


@register()
def adamw(
    lr: float = 1e-3,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 1e-2,
    amsgrad: bool = False,
    lr_decay: float = 0.0,
    lr_gamma: float = 1.0,
    lr_step_size: int = 1,
) -> Optimizer:
    """Adam with decoupled decay applied first: p <- p (1 - lr_t wd); g unchanged.
    Default wd = 1e-2 (torch.optim.AdamW)."""
    sched = _schedule("adamw", lr_decay, lr_gamma, lr_step_size)
    return _adam("adamw", lr, beta1, beta2, eps, weight_decay, amsgrad, True, sched)


class RMSpropState(NamedTuple):
    step: int
    square_avg: dict[str, Array]
    grad_avg: dict[str, Array]
    momentum_buffer: dict[str, Array]


@register()
def rmsprop(
    lr: float = 1e-2,
    alpha: float = 0.99,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    momentum: float = 0.0,
    centered: bool = False,
    lr_decay: float = 0.0,
    lr_gamma: float = 1.0,
    lr_step_size: int = 1,
    lr_outside: bool = False,
) -> Optimizer:
    """g <- g + wd p; s <- alpha s + (1 - alpha) g^2; centered: gbar <- gbar + (1-alpha)(g - gbar),
    d = sqrt(s - gbar^2) + eps, else d = sqrt(s) + eps; momentum: b <- mu b + g/d, p <- p - lr b;
    else p <- p - lr g/d; lr_t: ``_lr_at``, its velocity holding the lr as sgd's (Keras's
    m = mu m + lr_t g/d) or, with ``lr_outside``, PyTorch's own. No bias correction."""
    inf = math.inf
    _check(
        "rmsprop",
        lr=(lr, 0, inf, False),
        alpha=(alpha, 0, 1, True),
        eps=(eps, 0, inf, True),
        weight_decay=(weight_decay, 0, inf, True),
        momentum=(momentum, 0, inf, True),
    )
    sched = _schedule("rmsprop", lr_decay, lr_gamma, lr_step_size)

    def init(params: Params) -> RMSpropState:
        return RMSpropState(
            0,
            _zeros(params),
            _zeros(params) if centered else {},
            _zeros(params) if momentum else {},
        )

    def update(
        grads: Params, state: RMSpropState, params: Params, *, donate: bool = False
    ) -> tuple[Params, RMSpropState]:
        new_p, s_all, gbar_all, b_all = {}, {}, {}, {}
        lr_t = _lr_at(lr, sched, state.step)
        for k, p in params.items():
            g = _decay(grads[k], p, weight_decay)
            s = s_all[k] = alpha * state.square_avg[k] + (1.0 - alpha) * (g * g)
            if centered:
                gbar = state.grad_avg[k]
                gbar = gbar_all[k] = gbar + (1.0 - alpha) * (g - gbar)
                d = np.sqrt(s - gbar * gbar) + eps
            else:
                d = np.sqrt(s) + eps
            if momentum:
                outside = lr_outside or not state.step
                mu = momentum if outside else _mu_at(momentum, sched, state.step)
                b = b_all[k] = mu * state.momentum_buffer[k] + g / d
                new_p[k] = _step(p, lr_t, b, grads[k] if donate else None)
            else:
                new_p[k] = _step(p, lr_t, g / d, grads[k] if donate else None)
        return new_p, RMSpropState(state.step + 1, s_all, gbar_all, b_all)

    return Optimizer(init, update)


class AdagradState(NamedTuple):
    step: int
    sum: dict[str, Array]


@register()
def adagrad(
    lr: float = 1e-2,
    lr_decay: float = 0.0,
    lr_gamma: float = 1.0,
    lr_step_size: int = 1,
    weight_decay: float = 0.0,
    initial_accumulator_value: float = 0.0,
    eps: float = 1e-10,
) -> Optimizer:
    """g <- g + wd p; clr = lr / (1 + (t - 1) lr_decay); S <- S + g^2 (S_0 = initial value);
    p <- p - clr g / (sqrt(S) + eps). (torch.optim.Adagrad)"""
    inf = math.inf
    _check(
        "adagrad",
        lr=(lr, 0, inf, False),
        weight_decay=(weight_decay, 0, inf, True),
        initial_accumulator_value=(initial_accumulator_value, 0, inf, True),
        eps=(eps, 0, inf, True),
    )
    sched = _schedule("adagrad", lr_decay, lr_gamma, lr_step_size)

    def init(params: Params) -> AdagradState:
        return AdagradState(
            0, {k: np.full_like(v, initial_accumulator_value) for k, v in params.items()}
        )

    def update(
        grads: Params, state: AdagradState, params: Params, *, donate: bool = False
    ) -> tuple[Params, AdagradState]:
        t = state.step + 1
        clr = _lr_at(lr, sched, state.step)
        new_p, s_all = {}, {}
        for k, p in params.items():
            g = _decay(grads[k], p, weight_decay)
            s = s_all[k] = state.sum[k] + g * g
            d = g / (np.sqrt(s) + eps)
            new_p[k] = _step(p, clr, d, grads[k] if donate else None)
        return new_p, AdagradState(t, s_all)

    return Optimizer(init, update)
