"""The JAX side of every registered variant, under the same name and hyperparameters as in
``scratch`` and ``reference.variants`` (a variant on one side only fails the test suite).

Each implements the spec's DECLARED math (PyTorch's conventions, CONVENTIONS.md sections 1, 2
and 4), not JAX's own defaults: ``jax.nn`` / ``optax`` where their equations are the declared
ones, written out in ``jax.numpy`` where they are not. Written out: leaky_relu (jax.nn's grad at 0
is 1, the declared one is the slope), hardtanh (jnp.clip's grad at a bound is 0.5, declared 0),
softplus (jax.nn has no beta and no threshold), bce (PyTorch's log clamp at -100 and its gradient
clamp p(1-p) >= float32(1e-12), as a custom VJP), sgd with dampening, adam/adamw with amsgrad
(optax's amsgrad takes the max of the bias-corrected second moment, PyTorch of the raw one),
adagrad (optax puts eps inside the square root and starts the sum at 0.1). Gradients come from
``jax.grad``, never from a hand-written formula, except bce's declared clamp.

Activations map z -> a; losses map (output, target) -> scalar; optimizers are
``JaxOptimizer(init, update, counts_steps)`` over dicts name -> array, with a state dict whose
keys are PyTorch's ``optimizer.state`` keys (``step``, ``momentum_buffer``, ``exp_avg``, ...);
``step`` may be a traced integer (the twin jit-compiles its training step), so nothing branches
on it in Python.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from nnparity.scratch.registry import Registry

Array = Any  # a jax.Array
Params = dict[str, Array]
State = dict[str, Any]  # {"step": int, field: {name: array}}

jax_activations: Registry[Callable[[Array], Array]] = Registry("activation")
jax_losses: Registry[Callable[[Array, Array], Array]] = Registry("loss")
jax_optimizers: Registry[JaxOptimizer] = Registry("optimizer")

act = jax_activations.register
loss = jax_losses.register
opt = jax_optimizers.register


# -- activations --------------------------------------------------------------------------
@act()
def identity() -> Callable:
    return lambda z: z


@act()
def sigmoid() -> Callable:
    return jax.nn.sigmoid


@act()
def tanh() -> Callable:
    return jnp.tanh


@act()
def relu() -> Callable:
    return jax.nn.relu  # custom JVP: 0 at the kink, as PyTorch


@act()
def leaky_relu(slope: float = 0.01) -> Callable:
    """Written out: the test z > 0 puts 0 on the negative side (grad = slope at 0, PyTorch's
    convention; jax.nn.leaky_relu tests z >= 0 and gives 1)."""
    return lambda z: jnp.where(z > 0, z, slope * z)


@act()
def elu(alpha: float = 1.0) -> Callable:
    return lambda z: jax.nn.elu(z, alpha)


@act()
def selu() -> Callable:
    return jax.nn.selu


@act()
def gelu(approximate: str = "none") -> Callable:
    """jax.nn.gelu with the approximation named explicitly (its own default is the tanh form)."""
    exact = approximate == "none"
    return lambda z: jax.nn.gelu(z, approximate=not exact)


@act()
def silu() -> Callable:
    return jax.nn.silu


@act()
def softplus(beta: float = 1.0, threshold: float = 20.0) -> Callable:
    """Written out: PyTorch's beta and its linear branch above the threshold."""

    def f(z: Array) -> Array:
        bz = beta * z
        return jnp.where(bz > threshold, z, jnp.logaddexp(bz, 0.0) / beta)

    return f


@act()
def mish() -> Callable:
    return jax.nn.mish


@act()
def hardtanh(min_val: float = -1.0, max_val: float = 1.0) -> Callable:
    """Written out: constant outside the open interval, so the grad is 0 at both kinks."""
    return lambda z: jnp.where(z <= min_val, min_val, jnp.where(z >= max_val, max_val, z))


@act()
def softmax() -> Callable:
    return lambda z: jax.nn.softmax(z, axis=1)


@act()
def log_softmax() -> Callable:
    return lambda z: jax.nn.log_softmax(z, axis=1)


# -- losses: (output, target) -> scalar -----------------------------------------------------
def _reduce(per: Array, n: int, reduction: str) -> Array:
    total = per.sum()
    return total / n if reduction == "mean" else total


@loss()
def mse(reduction: str = "mean") -> Callable:
    return lambda a, y: _reduce((a - y) ** 2, a.size, reduction)


@loss()
def half_sse(reduction: str = "mean") -> Callable:
    return lambda a, y: _reduce(0.5 * (a - y) ** 2, a.shape[0], reduction)


@loss()
def huber(delta: float = 1.0, reduction: str = "mean") -> Callable:
    return lambda a, y: _reduce(optax.losses.huber_loss(a, y, delta=delta), a.size, reduction)


_BCE_EPSILON = float(np.float32(1e-12))  # PyTorch's C++ float clamp, also in float64


@jax.custom_vjp
def _bce(p: Array, y: Array) -> Array:
    return -(y * jnp.maximum(jnp.log(p), -100.0) + (1.0 - y) * jnp.maximum(jnp.log1p(-p), -100.0))


def _bce_fwd(p: Array, y: Array) -> tuple[Array, tuple[Array, Array]]:
    return _bce(p, y), (p, y)


def _bce_bwd(res: tuple[Array, Array], g: Array) -> tuple[Array, Array]:
    p, y = res
    return g * (p - y) / jnp.maximum(p * (1.0 - p), _BCE_EPSILON), jnp.zeros_like(y)


_bce.defvjp(_bce_fwd, _bce_bwd)


@loss()
def bce(reduction: str = "mean") -> Callable:
    """Written out with PyTorch's clamps: log at -100 (forward), p(1-p) >= 1e-12 (backward)."""
    return lambda p, y: _reduce(_bce(p, y), p.size, reduction)


@loss()
def bce_with_logits(reduction: str = "mean") -> Callable:
    return lambda z, y: _reduce(optax.sigmoid_binary_cross_entropy(z, y), z.size, reduction)


@loss()
def cross_entropy(label_smoothing: float = 0.0, reduction: str = "mean") -> Callable:
    def f(z: Array, y: Array) -> Array:
        q = optax.smooth_labels(jax.nn.one_hot(y, z.shape[1], dtype=z.dtype), label_smoothing)
        return _reduce(optax.softmax_cross_entropy(z, q), z.shape[0], reduction)

    return f


@loss()
def nll(reduction: str = "mean") -> Callable:
    def f(logp: Array, y: Array) -> Array:
        picked = jnp.take_along_axis(logp, y[:, None], axis=1)
        return _reduce(-picked, logp.shape[0], reduction)

    return f


# -- optimizers -------------------------------------------------------------------------------
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


def _descend(params: Params, direction: Params, lr: float) -> Params:
    return _map(lambda p, d: p - lr * d, params, direction)


@opt()
def sgd(
    lr: float = 1e-3,
    momentum: float = 0.0,
    dampening: float = 0.0,
    weight_decay: float = 0.0,
    nesterov: bool = False,
) -> JaxOptimizer:
    """optax.trace is PyTorch's buffer when dampening = 0 (it starts at 0, so b = g on the
    first step); with dampening the first step is special-cased, so it is written out."""

    def init(params: Params) -> State:
        return {"step": 0, "momentum_buffer": _zeros(params) if momentum else {}}

    def update(grads: Params, state: State, params: Params) -> tuple[Params, State]:
        g = _l2(grads, params, weight_decay)
        bufs: Params = {}
        if momentum and not dampening:
            tx = optax.trace(decay=momentum, nesterov=nesterov)
            g, st = tx.update(g, optax.TraceState(trace=state["momentum_buffer"]))
            bufs = st.trace
        elif momentum:
            first = state["step"] == 0  # a traced scalar under jit: no Python branch
            bufs = _map(
                lambda b, gi: jnp.where(first, gi, momentum * b + (1.0 - dampening) * gi),
                state["momentum_buffer"],
                g,
            )
            g = bufs  # nesterov needs dampening = 0 (the spec refuses the rest)
        return _descend(params, g, lr), {"step": state["step"] + 1, "momentum_buffer": bufs}

    return JaxOptimizer(init, update, counts_steps=False)


def _adam(
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    amsgrad: bool,
    decoupled: bool,
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
        return _descend(params, d, lr), new_state

    return JaxOptimizer(init, update)


@opt()
def adam(
    lr: float = 1e-3,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    amsgrad: bool = False,
) -> JaxOptimizer:
    return _adam(lr, beta1, beta2, eps, weight_decay, amsgrad, decoupled=False)


@opt()
def adamw(
    lr: float = 1e-3,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 1e-2,
    amsgrad: bool = False,
) -> JaxOptimizer:
    return _adam(lr, beta1, beta2, eps, weight_decay, amsgrad, decoupled=True)


@opt()
def rmsprop(
    lr: float = 1e-2,
    alpha: float = 0.99,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    momentum: float = 0.0,
    centered: bool = False,
) -> JaxOptimizer:
    """optax.scale_by_rms / scale_by_stddev with eps_in_sqrt=False and initial_scale=0 (optax's
    defaults put eps inside the root) is PyTorch's g / (sqrt(s) + eps); optax.trace on that is
    PyTorch's momentum buffer b <- mu b + g/d."""

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
            tr = optax.trace(decay=momentum)
            d, tst = tr.update(d, optax.TraceState(trace=state["momentum_buffer"]))
            bufs = tst.trace
        new_state = {
            "step": state["step"] + 1,
            "square_avg": s,
            "grad_avg": gbar,
            "momentum_buffer": bufs,
        }
        return _descend(params, d, lr), new_state

    return JaxOptimizer(init, update)


@opt()
def adagrad(
    lr: float = 1e-2,
    lr_decay: float = 0.0,
    weight_decay: float = 0.0,
    initial_accumulator_value: float = 0.0,
    eps: float = 1e-10,
) -> JaxOptimizer:
    """Written out: S <- S + g^2 from S_0 = initial_accumulator_value; p <- p - clr g/(sqrt(S)
    + eps), clr = lr / (1 + (t-1) lr_decay). optax.adagrad starts at 0.1 and divides by
    sqrt(S + eps), and has no lr_decay."""

    def init(params: Params) -> State:
        return {
            "step": 0,
            "sum": _map(lambda p: jnp.full_like(p, initial_accumulator_value), params),
        }

    def update(grads: Params, state: State, params: Params) -> tuple[Params, State]:
        g = _l2(grads, params, weight_decay)
        t = state["step"] + 1
        clr = lr / (1.0 + (t - 1) * lr_decay)
        s = _map(lambda si, gi: si + gi * gi, state["sum"], g)
        d = _map(lambda gi, si: gi / (jnp.sqrt(si) + eps), g, s)
        return _descend(params, d, clr), {"step": t, "sum": s}

    return JaxOptimizer(init, update)
