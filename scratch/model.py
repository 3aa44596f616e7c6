"""The multilayer perceptron: parameters, forward, hand-written backward, one training step.

Layout: batch-major. ``X`` is (batch, in); layer l has ``W{l}`` of shape (in, out) and
``b{l}`` of shape (out,), l = 1..L, and computes ``z = a_prev @ W + b``, ``a = f(z)``.
Backward for layer l, from ``da = dL/da_l``:

    dz = f.vjp(z, a, da);  dW = a_prev.T @ dz;  db = dz.sum(0);  da_prev = dz @ W.T

``build(spec)`` resolves every name once and returns a ``Network`` of pure functions.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np

from .activations import Activation, activations, into
from .data import check_data, check_inputs
from .errors import SpecError
from .initializers import initializers
from .losses import Loss, losses
from .optimizers import Optimizer, optimizers
from .spec import Spec
from .stack import LayeredNetwork, build_layered

Array = np.ndarray
Params = dict[str, Array]
Cache = list[tuple[Array, Array, Array]]  # per layer: (a_prev, z, a)


def param_names(spec: Spec) -> list[str]:
    """``['W1', 'b1', 'W2', 'b2', ...]`` (no b's without bias); a layered spec's learnable
    arrays in spec order (``nnparity.scratch.stack`` says how they are named)."""
    if spec.layered:
        return build(spec).param_names()
    return list(_dense_names(spec.n_layers, spec.bias))


@lru_cache(maxsize=64)
def _dense_names(n_layers: int, bias: bool) -> tuple[str, ...]:
    return tuple(
        n for l in range(1, n_layers + 1) for n in ((f"W{l}", f"b{l}") if bias else (f"W{l}",))
    )


class Network(NamedTuple):
    """A spec with its variants resolved. Every method is a pure function of its arguments."""

    spec: Spec
    acts: tuple[Activation, ...]
    loss_fn: Loss
    opt: Optimizer
    dtype: np.dtype

    def init_params(self, seed: int | None = None) -> Params:
        """Draw every parameter from ``default_rng(seed)`` (the spec's seed by default)."""
        spec = self.spec
        rng = np.random.default_rng(spec.seed if seed is None else seed)
        w_init = initializers[spec.init.name].build(spec.init.kwargs)
        b_init = initializers[spec.bias_init.name].build(spec.bias_init.kwargs)
        params: Params = {}
        for l, (n_in, n_out) in enumerate(
            zip(spec.sizes[:-1], spec.sizes[1:], strict=True), start=1
        ):
            params[f"W{l}"] = w_init(rng, (n_in, n_out), n_in, n_out).astype(self.dtype)
            if spec.bias:
                params[f"b{l}"] = b_init(rng, (n_out,), n_in, n_out).astype(self.dtype)
        return params

    def forward(self, params: Params, X: Array, *, mode: str = "train") -> tuple[Array, Cache]:
        """Network output (batch, out) and the per-layer cache backward needs. ``X`` is checked
        and cast to the spec's dtype first (``DataError`` names what does not fit). A dense
        stack computes the same in 'train' and 'eval' mode."""
        if mode not in ("train", "eval"):
            raise SpecError(f"mode must be 'train' or 'eval', got {mode!r}")
        return self._forward(params, check_inputs(self.spec, X))

    def _forward(self, params: Params, a: Array, own: bool = False) -> tuple[Array, Cache]:
        """``own``: the cache is the caller's alone (a training step), so an activation with
        in-place forms (``activations.in_place``) writes a over z (its cache then holds
        z = None)."""
        cache: Cache = []
        bias = self.spec.bias
        for l, act in enumerate(self.acts, start=1):
            z = a @ params[f"W{l}"]
            if bias:
                z += params[f"b{l}"]
            f_into = into(act)[0] if own else None
            a_next = f_into(z) if f_into else act.f(z)
            cache.append((a, None if f_into else z, a_next))
            a = a_next
        return a, cache

    def backward(self, params: Params, cache: Cache, dout: Array, own: bool = False) -> Params:
        """Every parameter's gradient, given ``dout = dL/d(output)``, in ``param_names`` order.
        Each dz is written over its da where the activation can (``activations.in_place``)
        and da is this call's own: da = dz @ W.T always, ``dout`` when ``own``."""
        grads: Params = {}
        da = dout
        bias = self.spec.bias
        ones = np.ones(dout.shape[0], dout.dtype) if bias else None
        for l in range(len(cache), 0, -1):
            a_prev, z, a = cache[l - 1]
            vjp_into = into(self.acts[l - 1])[1] if own or l < len(cache) else None
            dz = vjp_into(a, da) if vjp_into else self.acts[l - 1].vjp(z, a, da)
            grads[f"W{l}"] = a_prev.T @ dz
            if bias:
                grads[f"b{l}"] = ones @ dz  # dz.sum(0) as one GEMV: 2.5x faster at batch 64
            if l > 1:
                da = dz @ params[f"W{l}"].T
        return {name: grads[name] for name in _dense_names(len(cache), bias)}

    def loss(self, params: Params, X: Array, y: Array) -> float:
        """The loss value at ``params``."""
        X, y = self.check_data(X, y)
        return self.loss_fn.value(self.forward(params, X)[0], y)

    def loss_and_grads(self, params: Params, X: Array, y: Array) -> tuple[float, Params, Array]:
        """(loss, gradients, output) in one forward and one backward pass."""
        return self.checked_loss_and_grads(params, *self.check_data(X, y))

    def checked_loss_and_grads(
        self, params: Params, X: Array, y: Array
    ) -> tuple[float, Params, Array]:
        """``loss_and_grads`` of data that ``check_data`` has already returned (the parity
        engine checks it once per run, not once per step)."""
        if type(self) is not Network:  # a subclass's backward gets z and a dout to itself
            out, cache = self._forward(params, X)
            loss, dout = self.loss_fn.value_and_grad(out, y)
            return loss, self.backward(params, cache, dout), out
        out, cache = self._forward(params, X, own=True)
        loss, dout = self.loss_fn.value_and_grad(out, y)
        return loss, self.backward(params, cache, dout, own=True), out

    def init_state(self, params: Params) -> Any:
        """The optimizer's initial state for ``params``."""
        return self.opt.init(params)

    def train_step(
        self, params: Params, state: Any, X: Array, y: Array
    ) -> tuple[Params, Any, float]:
        """One step: forward, loss, backward, update. Returns (new params, new state, loss)."""
        loss, grads, _ = self.loss_and_grads(params, X, y)
        # the gradients are this step's own arrays: the update may write the new weights there
        new_params, new_state = self.opt.update(grads, state, params, donate=True)
        return new_params, new_state, loss

    def check_data(self, X: Any, y: Any) -> tuple[Array, Array]:
        """Validate and cast data for this spec (see ``nnparity.scratch.data.check_data``)."""
        return check_data(self.spec, X, y, self.loss_fn.target)


def build(spec: Spec) -> Network | LayeredNetwork:
    """Resolve the spec's variants by name: a ``Network`` (the MLP below) for a dense spec, a
    ``LayeredNetwork`` (``nnparity.scratch.stack``) for a layered one. Both offer init_params,
    forward(..., mode=), backward, loss, loss_and_grads, init_state, train_step, check_data."""
    return build_layered(spec) if spec.layered else _build_dense(spec)


def _clear_caches() -> None:
    """Forget every built network (tests that plant a variant in a registry call this)."""
    _build_dense.cache_clear()
    build_layered.cache_clear()


build.cache_clear = _clear_caches  # type: ignore[attr-defined]  # as functools.lru_cache's


@lru_cache(maxsize=256)
def _build_dense(spec: Spec) -> Network:
    return Network(
        spec,
        tuple(activations[a.name].build(a.kwargs) for a in spec.activations),
        losses[spec.loss.name].build(spec.loss.kwargs),
        optimizers[spec.opt.name].build(spec.opt.kwargs),
        np.dtype(spec.dtype),
    )
