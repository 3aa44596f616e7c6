"""The JAX optimizers (``JaxOptimizer`` over dicts name -> array, PyTorch's state keys)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax.numpy as jnp
import optax

from nnparity.scratch.registry import Registry

Array = Any  # a jax.Array
Params = dict[str, Array]
State = dict[str, Any]  # {"step": int, field: {name: array}}

jax_optimizers: Registry[JaxOptimizer] = Registry("optimizer")

opt = jax_optimizers.register


class JaxOptimizer(NamedTuple):
    """``init(params) -> state``; ``update(grads, state, params) -> (params, state)``;
    ``counts_steps``: whether PyTorch's state holds a ``step`` (SGD's does not)."""

    init: Callable[[Params], State]
    update: Callable[[Params, State, Params], tuple[Params, State]]
    counts_steps: bool = True


def _map(f: Callable, *trees: Params) -> Params:
    return {k: f(*(t[k] for t in trees)) for k in trees[0]}


def _zeros(params: Params) -> Params:
    return _map(jnp.zeros_like, params)


def _l2(grads: Params, params: Params, weight_decay: float) -> Params:
    """optax.add_decayed_weights: g + wd p (PyTorch's coupled weight decay)."""
    if not weight_decay:
        return grads
    tx = optax.add_decayed_weights(weight_decay)
    return tx.update(grads, tx.init(params), params)[0]


def _descend(params: Params, direction: Params, lr: Any) -> Params:
    return _map(lambda p, d: p - lr * d, params, direction)


Sched = tuple[float, float, int]  # (lr_decay, lr_gamma, lr_step_size): scratch's Schedule


def _mu_at(mu: float, sched: Sched, done: Any) -> Any:
    """scratch's ``mu_at``: mu lr_(t-1) / lr_t, the velocity holding the lr (from step 2)."""
    decay, gamma, every = sched
    if not decay and gamma == 1.0:
        return mu
    done = jnp.maximum(done, 1)
    if decay:
        mu = mu * (1.0 + done * decay) / (1.0 + (done - 1) * decay)
    return jnp.where(done % every == 0, mu / gamma, mu) if gamma != 1.0 else mu


def _lr_at(lr: float, sched: Sched, done: Any) -> Any:
    """lr gamma^(done // step_size) / (1 + lr_decay done) after ``done`` steps (a traced scalar
    under jit): scratch's ``lr_at`` (optax: a schedule of the step count)."""
    decay, gamma, every = sched
    if gamma != 1.0:
        lr = lr * gamma ** (done // every)
    return lr / (1.0 + done * decay) if decay else lr


@opt()
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
) -> JaxOptimizer:
    """optax.trace is PyTorch's buffer when dampening = 0 (it starts at 0, so b = g on the
    first step); with dampening the first step is special-cased, so it is written out."""
    sched = (lr_decay, lr_gamma, lr_step_size)

    def init(params: Params) -> State:
        return {"step": 0, "momentum_buffer": _zeros(params) if momentum else {}}

    def update(grads: Params, state: State, params: Params) -> tuple[Params, State]:
        g = _l2(grads, params, weight_decay)
        bufs: Params = {}
        if momentum and not dampening and not lr_decay and lr_gamma == 1.0:
            tx = optax.trace(decay=momentum, nesterov=nesterov)
            g, st = tx.update(g, optax.TraceState(trace=state["momentum_buffer"]))
            bufs = st.trace
        elif momentum:
            first = state["step"] == 0  # a traced scalar under jit: no Python branch
            mu = momentum if lr_outside else _mu_at(momentum, sched, state["step"])
            bufs = _map(
                lambda b, gi: jnp.where(first, gi, mu * b + (1.0 - dampening) * gi),
                state["momentum_buffer"],
                g,
            )
            g = bufs  # nesterov needs dampening = 0 (the spec refuses the rest)
        lr_t = _lr_at(lr, sched, state["step"])
        return _descend(params, g, lr_t), {"step": state["step"] + 1, "momentum_buffer": bufs}

    return JaxOptimizer(init, update, counts_steps=False)


def _adam(
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    amsgrad: bool,
    decoupled: bool,
    sched: Sched = (0.0, 1.0, 1),
) -> JaxOptimizer:
    """optax.scale_by_adam (eps outside the root, eps_root = 0) is PyTorch's Adam direction;
    adamw adds wd p to it before the lr (optax.adamw's order, PyTorch's math). amsgrad is
    written out: PyTorch takes the max of the raw second moment, optax of the corrected one."""

    def init(params: Params) -> State:
        return {
            "step": 0,
            "exp_avg": _zeros(params),
            "exp_avg_sq": _zeros(params),
            "max_exp_avg_sq": _zeros(params) if amsgrad else {},
        }

    def update(grads: Params, state: State, params: Params) -> tuple[Params, State]:
        g = grads if decoupled else _l2(grads, params, weight_decay)
        t = state["step"] + 1
        vmax: Params = {}
        if not amsgrad:
            tx = optax.scale_by_adam(b1=beta1, b2=beta2, eps=eps, eps_root=0.0)
            old = optax.ScaleByAdamState(
                count=jnp.asarray(state["step"], jnp.int32),
                mu=state["exp_avg"],
                nu=state["exp_avg_sq"],
            )
            d, st = tx.update(g, old)
            m, v = st.mu, st.nu
        else:
            m = _map(lambda mi, gi: mi + (1.0 - beta1) * (gi - mi), state["exp_avg"], g)
            v = _map(lambda vi, gi: beta2 * vi + (1.0 - beta2) * gi * gi, state["exp_avg_sq"], g)
            vmax = _map(jnp.maximum, state["max_exp_avg_sq"], v)
            c1, c2 = 1.0 - beta1**t, (1.0 - beta2**t) ** 0.5
            d = _map(lambda mi, vi: (mi / c1) / (jnp.sqrt(vi) / c2 + eps), m, vmax)
        if decoupled and weight_decay:
            d = _map(lambda di, p: di + weight_decay * p, d, params)
        new_state = {"step": t, "exp_avg": m, "exp_avg_sq": v, "max_exp_avg_sq": vmax}
        return _descend(params, d, _lr_at(lr, sched, state["step"])), new_state

    return JaxOptimizer(init, update)


@opt()
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
) -> JaxOptimizer:
    sched = (lr_decay, lr_gamma, lr_step_size)
    return _adam(lr, beta1, beta2, eps, weight_decay, amsgrad, False, sched)


@opt()
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
) -> JaxOptimizer:
    sched = (lr_decay, lr_gamma, lr_step_size)
    return _adam(lr, beta1, beta2, eps, weight_decay, amsgrad, True, sched)


@opt()
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
) -> JaxOptimizer:
    """optax.scale_by_rms / scale_by_stddev with eps_in_sqrt=False and initial_scale=0 (optax's
    defaults put eps inside the root) is PyTorch's g / (sqrt(s) + eps); optax.trace on that is
    PyTorch's momentum buffer b <- mu b + g/d."""
    sched = (lr_decay, lr_gamma, lr_step_size)

    def init(params: Params) -> State:
        return {
            "step": 0,
            "square_avg": _zeros(params),
            "grad_avg": _zeros(params) if centered else {},
            "momentum_buffer": _zeros(params) if momentum else {},
        }

    def update(grads: Params, state: State, params: Params) -> tuple[Params, State]:
        g = _l2(grads, params, weight_decay)
        gbar: Params = {}
        if centered:
            tx = optax.scale_by_stddev(decay=alpha, eps=eps, eps_in_sqrt=False)
            old = optax.ScaleByRStdDevState(mu=state["grad_avg"], nu=state["square_avg"])
            d, st = tx.update(g, old)
            s, gbar = st.nu, st.mu
        else:
            tx = optax.scale_by_rms(decay=alpha, eps=eps, eps_in_sqrt=False)
            d, st = tx.update(g, optax.ScaleByRmsState(nu=state["square_avg"]))
            s = st.nu
        bufs: Params = {}
        if momentum:
            mu = momentum if lr_outside else _mu_at(momentum, sched, state["step"])
            tr = optax.trace(decay=mu)
            d, tst = tr.update(d, optax.TraceState(trace=state["momentum_buffer"]))
            bufs = tst.trace
        new_state = {
            "step": state["step"] + 1,
            "square_avg": s,
            "grad_avg": gbar,
            "momentum_buffer": bufs,
        }
        return _descend(params, d, _lr_at(lr, sched, state["step"])), new_state

    return JaxOptimizer(init, update)


@opt()
def adagrad(
    lr: float = 1e-2,
    lr_decay: float = 0.0,
    lr_gamma: float = 1.0,
    lr_step_size: int = 1,
    weight_decay: float = 0.0,
    initial_accumulator_value: float = 0.0,
    eps: float = 1e-10,
) -> JaxOptimizer:
    """Written out: S <- S + g^2 from S_0 = initial_accumulator_value; p <- p - clr g/(sqrt(S)
    + eps), clr = lr / (1 + (t-1) lr_decay). optax.adagrad starts at 0.1 and divides by
    sqrt(S + eps), and has no lr_decay."""
    sched = (lr_decay, lr_gamma, lr_step_size)

    def init(params: Params) -> State:
        return {
            "step": 0,
            "sum": _map(lambda p: jnp.full_like(p, initial_accumulator_value), params),
        }

    def update(grads: Params, state: State, params: Params) -> tuple[Params, State]:
        g = _l2(grads, params, weight_decay)
        t = state["step"] + 1
        clr = _lr_at(lr, sched, t - 1)
        s = _map(lambda si, gi: si + gi * gi, state["sum"], g)
        d = _map(lambda gi, si: gi / (jnp.sqrt(si) + eps), g, s)
        return _descend(params, d, clr), {"step": t, "sum": s}

    return JaxOptimizer(init, update)
