"""A network as a sequence of layers (conv, pooling, norm, dropout, dense, activations).

Naming: the layers that hold arrays (conv, dense, batchnorm, layernorm, dropout) are numbered
from 1 in spec order; activations, pooling and flatten take no number. Layer n's arrays are
``W{n}``, ``b{n}`` (conv: (out, in, kh, kw) as PyTorch; dense: (in, out) as the MLP),
``gamma{n}``, ``beta{n}`` (parameters), ``running_mean{n}``, ``running_var{n}`` (buffers) and
``mask{n}`` (the 0/1 dropout mask of a step). In ``1x8x8 conv(4,k=3) relu maxpool(2) flatten
dense(16) batchnorm relu dropout(0.25) dense(3)``: W1 b1, W2 b2, gamma3 beta3 (+ running
statistics 3), mask4, W5 b5.

Everything is a pure function of its arguments. The training state is a ``NetState``: the
optimizer's state, the buffers (a separate dict) and the masks the last step drew. A training
step draws its dropout masks from ``default_rng([seed, 2, step])`` (seed: the spec's, unless
given), so a step's masks are reproducible and returned for the twin to apply.
"""

from __future__ import annotations

from functools import cache, lru_cache
from typing import Any, NamedTuple

import numpy as np

from .data import check_data, check_inputs
from .errors import SpecError
from .initializers import initializers
from .layers import Ctx, Layer, activation_layer, layers
from .losses import Loss, losses
from .optimizers import Optimizer, optimizers
from .spec import Spec
from .spec_layers import is_activation, layer_shapes

Array = np.ndarray
Params = dict[str, Array]


class NetState(NamedTuple):
    """A layered network's training state: ``opt`` (the optimizer's state NamedTuple),
    ``buffers`` (running statistics by name) and ``masks`` (the last step's dropout masks)."""

    opt: Any
    buffers: dict[str, Array]
    masks: dict[str, Array]


class Trace(NamedTuple):
    """What a forward pass leaves for backward, with the buffers after it (updated in training
    mode) and the dropout masks it applied."""

    caches: list
    buffers: dict[str, Array]
    masks: dict[str, Array]


class Slot(NamedTuple):
    """A layer in place: its implementation, its number (None: holds no arrays), its input
    shape (one sample)."""

    layer: Layer
    number: int | None
    in_shape: tuple[int, ...]


def _slots(spec: Spec) -> tuple[Slot, ...]:
    out, number, shape = [], 0, spec.in_shape
    for c, out_shape in zip(spec.stack, layer_shapes(spec), strict=True):
        if is_activation(c.name):
            out.append(Slot(activation_layer(c.name, c.kwargs), None, shape))
        else:
            holds = c.name in ("conv", "dense", "batchnorm", "layernorm", "dropout")
            number += holds
            out.append(Slot(layers[c.name].build(c.kwargs), number if holds else None, shape))
        shape = out_shape
    return tuple(out)


KEYS = ("W", "b", "gamma", "beta", "running_mean", "running_var")


@cache
def _names(number: int) -> tuple[tuple[str, str], ...]:
    return tuple((k, f"{k}{number}") for k in KEYS)


def _own(d: dict[str, Array], number: int | None) -> dict[str, Array]:
    """The arrays of layer ``number`` under their short keys: ``{'W': d['W3'], ...}``."""
    if number is None:
        return {}
    return {k: d[name] for k, name in _names(number) if name in d}


class LayeredNetwork(NamedTuple):
    """A layered spec with its layers, loss and optimizer resolved."""

    spec: Spec
    slots: tuple[Slot, ...]
    loss_fn: Loss
    opt: Optimizer
    dtype: np.dtype

    # -- arrays ---------------------------------------------------------------------------
    def param_names(self) -> list[str]:
        """Learnable arrays in spec order: W1, b1, gamma3, beta3, ..."""
        blank = lambda rng, shape, fan_in, fan_out: np.empty(shape)  # noqa: E731
        return [
            f"{k}{s.number}"
            for s in self.slots
            for k in s.layer.init(None, s.in_shape, blank, blank, self.spec.bias)
        ]

    def init_params(self, seed: int | None = None) -> Params:
        """Draw every weight from ``default_rng(seed)`` (the spec's seed by default), layer by
        layer in spec order; gamma = 1, beta = 0 as PyTorch."""
        spec = self.spec
        rng = np.random.default_rng(spec.seed if seed is None else seed)
        w_init = initializers[spec.init.name].build(spec.init.kwargs)
        b_init = initializers[spec.bias_init.name].build(spec.bias_init.kwargs)
        params: Params = {}
        for s in self.slots:
            for k, v in s.layer.init(rng, s.in_shape, w_init, b_init, spec.bias).items():
                params[f"{k}{s.number}"] = np.asarray(v).astype(self.dtype)
        return params

    def init_buffers(self) -> dict[str, Array]:
        """running_mean = 0 and running_var = 1 for every batchnorm, as PyTorch."""
        return {
            f"{k}{s.number}": v.astype(self.dtype)
            for s in self.slots
            for k, v in s.layer.buffers(s.in_shape).items()
        }

    def init_state(self, params: Params) -> NetState:
        """The optimizer's initial state, fresh buffers and no masks yet."""
        return NetState(self.opt.init(params), self.init_buffers(), {})

    # -- passes ---------------------------------------------------------------------------
    def forward(
        self,
        params: Params,
        X: Array,
        *,
        mode: str = "train",
        buffers: dict[str, Array] | None = None,
        masks: dict[str, Array] | None = None,
        seed: Any = None,
    ) -> tuple[Array, Trace]:
        """Output (batch, units) and the trace backward needs. ``mode``: 'train' or 'eval';
        ``buffers``: the running statistics (fresh ones if None); dropout n applies
        ``masks['mask{n}']`` where given, else draws from ``default_rng(seed)`` (the spec's
        seed if None)."""
        if mode not in ("train", "eval"):
            raise SpecError(f"mode must be 'train' or 'eval', got {mode!r}")
        return self._forward(params, check_inputs(self.spec, X), mode, buffers, masks, seed)

    def _forward(
        self,
        params: Params,
        a: Array,
        mode: str = "train",
        buffers: dict[str, Array] | None = None,
        masks: dict[str, Array] | None = None,
        seed: Any = None,
    ) -> tuple[Array, Trace]:
        train = mode == "train"
        buffers = self.init_buffers() if buffers is None else buffers
        masks = masks or {}
        draws = train and any(
            s.layer.has_mask and f"mask{s.number}" not in masks for s in self.slots
        )  # a generator only where a dropout mask is to be drawn
        rng = np.random.default_rng(self.spec.seed if seed is None else seed) if draws else None
        caches, new_buffers, used = [], dict(buffers), {}
        for s in self.slots:
            mask = masks.get(f"mask{s.number}") if s.layer.has_mask else None
            if mask is not None:
                mask = np.asarray(mask)
            own = {**_own(params, s.number), **_own(buffers, s.number)}
            a, cache, out = s.layer.forward(own, a, Ctx(train, rng, mask))
            caches.append(cache)
            for k, v in out.items():
                (used if k == "mask" else new_buffers)[f"{k}{s.number}"] = v
        return a, Trace(caches, new_buffers, used)

    def backward(self, params: Params, trace: Trace, dout: Array) -> Params:
        """Every parameter's gradient from ``dout = dL/d(output)``, in ``param_names`` order."""
        return self.vjp(params, trace, dout, need_dx=False)[1]

    def vjp(
        self, params: Params, trace: Trace, dout: Array, need_dx: bool = True
    ) -> tuple[Array | None, Params]:
        """(dL/dX, gradients): the layers' VJPs from the last to the first. dL/dX is None
        unless ``need_dx`` (the first layer then skips computing it)."""
        grads: Params = {}
        g = dout
        for i in range(len(self.slots) - 1, -1, -1):
            s = self.slots[i]
            g, own = s.layer.backward(_own(params, s.number), trace.caches[i], g, need_dx or i > 0)
            for k, v in own.items():
                grads[f"{k}{s.number}"] = v
        return g, {name: grads[name] for name in params}

    def loss(self, params: Params, X: Array, y: Array, **kw: Any) -> float:
        """The loss value at ``params`` (keywords as ``forward``)."""
        X, y = self.check_data(X, y)
        return self.loss_fn.value(self.forward(params, X, **kw)[0], y)

    def loss_and_grads(
        self, params: Params, X: Array, y: Array, **kw: Any
    ) -> tuple[float, Params, Array]:
        """(loss, gradients, output) in one forward and one backward pass (keywords as
        ``forward``: mode, buffers, masks, seed)."""
        X, y = self.check_data(X, y)
        out, trace = self.forward(params, X, **kw)  # (checks its keywords too)
        loss, dout = self.loss_fn.value_and_grad(out, y)
        return loss, self.backward(params, trace, dout), out

    def train_step(
        self, params: Params, state: NetState, X: Array, y: Array, *, seed: int | None = None
    ) -> tuple[Params, NetState, float]:
        """One training step: forward (train mode, the state's buffers, fresh masks from
        ``default_rng([seed, 2, step])``), loss, backward, update. Returns (new params, new
        NetState with the updated buffers and the masks used, loss)."""
        X, y = self.check_data(X, y)
        step_seed = [self.spec.seed if seed is None else seed, 2, int(state.opt.step)]
        out, trace = self._forward(params, X, buffers=state.buffers, seed=step_seed)
        loss, dout = self.loss_fn.value_and_grad(out, y)
        grads = self.backward(params, trace, dout)
        new_params, opt_state = self.opt.update(grads, state.opt, params, donate=True)
        return new_params, NetState(opt_state, trace.buffers, trace.masks), loss

    def check_data(self, X: Any, y: Any) -> tuple[Array, Array]:
        """Validate and cast data for this spec (see ``nnparity.scratch.data.check_data``)."""
        return check_data(self.spec, X, y, self.loss_fn.target)


@lru_cache(maxsize=256)
def build_layered(spec: Spec) -> LayeredNetwork:
    """Resolve a layered spec's layers, loss and optimizer by name."""
    return LayeredNetwork(
        spec,
        _slots(spec),
        losses[spec.loss.name].build(spec.loss.kwargs),
        optimizers[spec.opt.name].build(spec.opt.kwargs),
        np.dtype(spec.dtype),
    )
