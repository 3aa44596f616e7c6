"""The layered form's layers: each one read and written, the stack checked, the shapes it makes."""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

from .activations import activations
from .errors import SpecError, unknown_name
from .layers import POSITIONAL, layers
from .spec_choice import _CALL, Choice, _fmt, _tokens, choice, split_commas

if TYPE_CHECKING:
    from .spec import Spec

_SHAPE = re.compile(r"^\d+(x\d+)*$")


def is_activation(name: str) -> bool:
    """True for an activation's name, False for a layer's (the two sets of names are disjoint)."""
    return name not in layers and name in activations


def _numbered(c: Choice) -> bool:
    """Layers that hold arrays (weights, statistics, a mask) take a number in parameter names."""
    return c.name in ("conv", "dense", "batchnorm", "layernorm", "dropout")


def layer_choice(obj: Choice | str) -> Choice:
    """A layer or activation, validated: ``'conv(4,k=3)'``, ``'relu'``, ``Choice('dense', ...)``.
    The first hyperparameter of conv, dense, maxpool, avgpool and dropout may be positional."""
    if isinstance(obj, str):
        m = _CALL.match(obj.strip())
        name = layers.canonical(m.group(1)) if m else obj
        if m and name not in layers and name not in activations:
            raise unknown_name("layer", name, [*layers, *activations])
        if m and m.group(2) and name in layers and POSITIONAL in layers[name].tags:
            first, *rest = split_commas(m.group(2))
            if "=" not in first:
                key = next(iter(layers[name].defaults))
                obj = f"{name}({','.join([f'{key}={first}', *rest])})"
        return choice(layers if name in layers else activations, obj)
    return choice(activations if is_activation(obj.name) else layers, obj)


def layer_text(c: Choice) -> str:
    """A layer's text, its first hyperparameter positional where allowed: ``conv(4,k=3)``."""
    if c.name in layers and POSITIONAL in layers[c.name].tags and c.params:
        key, value = c.params[0]
        if key == next(iter(layers[c.name].defaults)):
            rest = [f"{k}={_fmt(v)}" for k, v in c.params[1:]]
            return f"{c.name}({','.join([_fmt(value), *rest])})"
    return str(c)


def _layer_choices(stack: Any) -> tuple[Choice, ...]:
    if isinstance(stack, (str, Choice)):
        stack = _tokens(stack) if isinstance(stack, str) else (stack,)
    return tuple(layer_choice(c) for c in stack)


def _input_shape(shape: Any) -> tuple[int, ...]:
    if isinstance(shape, str):
        if not _SHAPE.match(shape):
            raise SpecError(
                f"cannot read input shape {shape!r}: write whole numbers joined by 'x', "
                "e.g. 1x28x28 (channels x height x width) or 8 (features)"
            )
        shape = tuple(int(s) for s in shape.split("x"))
    shape = tuple(shape)
    if len(shape) not in (1, 3) or any(
        isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in shape
    ):
        raise SpecError(
            f"input shape must be D (features) or CxHxW (an image), whole numbers >= 1, got "
            f"{shape!r}"
        )
    return shape


def _as_dense(shape: tuple[int, ...], stack: tuple[Choice, ...]):
    """(sizes, activations) when the layers are dense ones each followed by at most one
    activation on a vector input, else None."""
    if len(shape) != 1 or not stack or stack[0].name != "dense":
        return None
    sizes, acts = [shape[0]], []
    for i, c in enumerate(stack):
        if c.name == "dense":
            sizes.append(c.kwargs["units"])
            nxt = stack[i + 1] if i + 1 < len(stack) else None
            acts.append(nxt if nxt is not None and is_activation(nxt.name) else Choice("identity"))
        elif not (is_activation(c.name) and stack[i - 1].name == "dense"):
            return None
    return tuple(sizes), tuple(acts)


def layer_shapes(spec: Spec) -> list[tuple[int, ...]]:
    """The output shape of one sample after each layer; a SpecError naming the layer and the
    fix for a sequence that cannot run."""
    from .layers import activation_layer

    shapes, shape = [], spec.in_shape
    for i, c in enumerate(spec.stack, start=1):
        layer = (
            activation_layer(c.name, c.kwargs)
            if is_activation(c.name)
            else layers[c.name].build(c.kwargs)
        )
        try:
            shape = layer.out_shape(shape)
        except SpecError as e:
            raise SpecError(f"layer {i} {layer_text(c)}: {e}") from None
        shapes.append(shape)
    return shapes


def _check_layers(spec: Spec) -> None:
    if not any(c.name in ("conv", "dense") for c in spec.layers):
        raise SpecError(
            f"need at least an input and an output size: the layers of "
            f"{'x'.join(map(str, spec.input_shape))} {' '.join(map(layer_text, spec.layers))} "
            "hold no weights; add a dense or conv layer, e.g. 3 dense(4) tanh"
        )
    shapes = layer_shapes(spec)
    ins = [spec.input_shape, *shapes[:-1]]
    for i, (c, shape) in enumerate(zip(spec.layers, ins, strict=True), start=1):
        per_channel = spec.batch * math.prod(shape[1:])
        if c.name == "batchnorm" and per_channel < 2:
            raise SpecError(
                f"layer {i} batchnorm would see one value per channel in training (batch "
                f"{spec.batch}, {'x'.join(map(str, shape))} per sample), which PyTorch refuses: "
                "use batch=2 or more"
            )
    if len(shapes[-1]) != 1:
        raise SpecError(
            f"the network ends with a {'x'.join(map(str, shapes[-1]))} output per sample; a loss "
            "takes (batch, units): end with flatten and dense(units)"
        )
