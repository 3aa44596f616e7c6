"""The layer contract, stax style: each layer is a small record of pure functions.

Shapes exclude the batch axis (``in_shape`` is (D,) or (C, H, W)); arrays include it.

    out_shape(in_shape) -> shape         raises SpecError naming the fix for a bad sequence
    init(rng, in_shape, w_init, b_init, bias) -> {key: float64 array}   ('W', 'b', 'gamma', ...)
    buffers(in_shape) -> {key: float64 array}                           ('running_mean', ...)
    forward(p, x, ctx) -> (y, cache, out)     out: new buffers, or the dropout 'mask' used
    backward(p, cache, dy, need_dx) -> (dx, grads)   the vector-Jacobian product; dx is None
                                                     when not needed (the first layer)

``p`` holds the layer's own parameters and buffers under their short keys; ``ctx`` says the
mode and carries the dropout randomness. Nothing is stored between calls.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from ..registry import Registry

Array = np.ndarray
Shape = tuple[int, ...]


class Ctx(NamedTuple):
    """What one forward pass knows besides the arrays: ``train`` (True) or eval mode, a
    generator to draw dropout masks from, and a mask given in advance (None: draw one)."""

    train: bool = True
    rng: np.random.Generator | None = None
    mask: Array | None = None


def _no_params(rng: Any, in_shape: Shape, w_init: Any, b_init: Any, bias: bool) -> dict:
    return {}


def _no_buffers(in_shape: Shape) -> dict:
    return {}


class Layer(NamedTuple):
    out_shape: Callable[[Shape], Shape]
    forward: Callable[[dict, Array, Ctx], tuple[Array, Any, dict]]
    backward: Callable[[dict, Any, Array, bool], tuple[Array | None, dict]]
    init: Callable[..., dict] = _no_params
    buffers: Callable[[Shape], dict] = _no_buffers
    has_mask: bool = False


layers: Registry[Layer] = Registry("layer")
register = layers.register

# layers whose first hyperparameter may be written without its key: conv(8,k=3), dropout(0.25)
POSITIONAL = "positional"


def need_2d(name: str, in_shape: Shape) -> None:
    """SpecError unless each sample is a vector (the layer works on (batch, features))."""
    from ..errors import SpecError

    if len(in_shape) != 1:
        shape = "x".join(map(str, in_shape))
        raise SpecError(
            f"{name} is fed a {shape} input per sample but takes a vector: put flatten before it"
        )


def need_4d(name: str, in_shape: Shape) -> None:
    """SpecError unless each sample is an image (C, H, W)."""
    from ..errors import SpecError

    if len(in_shape) != 3:
        shape = "x".join(map(str, in_shape))
        raise SpecError(
            f"{name} takes images (channels x height x width per sample) but is fed {shape}: "
            "write the input shape as CxHxW, e.g. 1x28x28, and keep it before flatten"
        )
