"""Dense, flatten and dropout layers, and any activation used as a layer.

- dense(units): y = x @ W + b, W of shape (in, out) (scratch's dense layout, as the MLP);
  dW = x^T dy, db = sum of dy over the batch, dx = dy W^T.
- flatten: (N, C, H, W) -> (N, C H W), row-major as ``torch.flatten(x, 1)``; dx = dy reshaped.
- dropout(p): inverted dropout, p the probability of ZEROING (PyTorch's ``nn.Dropout``):
  y = x * mask / (1 - p) in training, with mask[i] = 1 with probability 1 - p; identity in
  eval mode (``inverted=false``: y = x * mask in training, (1 - p) x in eval). The mask is
  drawn from the step's generator (or given) and returned, so the twin and finite
  differences apply the very same one; dx = dy * mask / (1 - p).
"""

from __future__ import annotations

import math

import numpy as np

from ..activations import activations
from ..errors import SpecError
from .base import POSITIONAL, Ctx, Layer, Shape, need_2d, register

Array = np.ndarray


@register(POSITIONAL)
def dense(units: int = 0) -> Layer:
    """y = x @ W + b with W (in, units): scratch's dense layout (the twin transposes it)."""
    if units < 1:
        raise SpecError(f"dense needs its width, units >= 1, got {units}: write e.g. dense(16)")

    def out_shape(in_shape: Shape) -> Shape:
        need_2d(f"dense({units})", in_shape)
        return (units,)

    def init(rng, in_shape: Shape, w_init, b_init, bias: bool) -> dict:
        n_in = in_shape[0]
        p = {"W": w_init(rng, (n_in, units), n_in, units)}
        if bias:
            p["b"] = b_init(rng, (units,), n_in, units)
        return p

    def forward(p: dict, x: Array, ctx: Ctx):
        y = x @ p["W"]
        if "b" in p:
            y += p["b"]
        return y, x, {}

    def backward(p: dict, x: Array, dy: Array, need_dx: bool):
        grads = {"W": x.T @ dy}
        if "b" in p:
            grads["b"] = np.ones(len(dy), dy.dtype) @ dy  # dy.sum(0) as one GEMV (faster)
        return (dy @ p["W"].T if need_dx else None), grads

    return Layer(out_shape, forward, backward, init)


@register()
def flatten() -> Layer:
    """(N, C, H, W) -> (N, C*H*W), row-major (torch.flatten(x, 1)); dx = dy reshaped back."""

    def forward(p: dict, x: Array, ctx: Ctx):
        return x.reshape(x.shape[0], -1), x.shape, {}

    def backward(p: dict, x_shape: tuple, dy: Array, need_dx: bool):
        return (dy.reshape(x_shape) if need_dx else None), {}

    return Layer(lambda s: (math.prod(s),), forward, backward)


def dropout_mask(rng: np.random.Generator, shape: tuple[int, ...], p: float, dtype) -> Array:
    """A 0/1 keep mask of ``shape``: each entry 1 with probability 1 - p."""
    return (rng.random(shape) >= p).astype(dtype)


@register(POSITIONAL)
def dropout(p: float = 0.5, inverted: bool = True) -> Layer:
    """train: y = x * mask / (1 - p), mask ~ Bernoulli(1 - p) (p = drop probability, as
    PyTorch); eval: y = x. ``inverted=false``: the original paper's form, y = x * mask in
    training and y = (1 - p) x in eval (Deep Learning from Scratch's ``Dropout``). The mask
    comes from the step's seed and is returned with the step."""
    if not 0 <= p < 1:
        raise SpecError(f"dropout p is the probability of dropping and must lie in [0, 1), got {p}")
    scale = 1 - p if inverted else 1.0  # the kept elements' divisor in training

    def forward(params: dict, x: Array, ctx: Ctx):
        if not ctx.train:
            k = None if inverted else x.dtype.type(1 - p)  # (dx = dy k likewise)
            return (x, None, {}) if k is None else (x * k, k, {})
        mask = ctx.mask
        if mask is None:
            if ctx.rng is None:
                raise SpecError("dropout in training mode needs a seed or a mask for this step")
            mask = dropout_mask(ctx.rng, x.shape, p, x.dtype)
        elif mask.shape != x.shape:
            raise SpecError(f"dropout mask has shape {mask.shape}; the layer's input is {x.shape}")
        scaled = mask.astype(x.dtype, copy=False) / x.dtype.type(scale)  # as torch's noise
        return x * scaled, scaled, {"mask": mask}

    def backward(params: dict, scaled: Array | None, dy: Array, need_dx: bool):
        if not need_dx:
            return None, {}
        return (dy if scaled is None else dy * scaled), {}

    return Layer(lambda s: s, forward, backward, has_mask=True)


def activation_layer(name: str, kwargs: dict) -> Layer:
    """An activation as a layer: a = f(z), dz = vjp(z, a, da). Softmax-like (non-elementwise)
    activations work on (batch, units) only."""
    act = activations[name].build(kwargs)
    elementwise = "elementwise" in activations[name].tags

    def out_shape(in_shape: Shape) -> Shape:
        if not elementwise:
            need_2d(name, in_shape)
        return in_shape

    def forward(p: dict, z: Array, ctx: Ctx):
        a = act.f(z)
        return a, (z, a), {}

    def backward(p: dict, cache: tuple, da: Array, need_dx: bool):
        return (act.vjp(*cache, da) if need_dx else None), {}

    return Layer(out_shape, forward, backward)
