"""``Spec``: a frozen, hashable description of a network and how it is trained.

One line of text describes it and parses back exactly (``Spec.parse(str(s)) == s``). The dense
form gives layer sizes, then one activation per layer::

    3-4-1 tanh,sigmoid loss=bce opt=sgd(lr=0.1,momentum=0.9) init=xavier_uniform seed=0

The layered form gives the input shape of one sample (``8``, ``1x28x28`` = C x H x W), then
the layers in order, activations among them::

    1x8x8 conv(4,k=3,pad=1) relu maxpool(2) flatten dense(16) batchnorm relu dropout(0.25)
    dense(3) loss=cross_entropy opt=adam(lr=0.01) dtype=float32 seed=0

Then ``key=value`` tokens in any order (bias, init, bias_init, loss, opt, dtype, seed, batch);
absent keys take their defaults. A variant with hyperparameters is written
``name(key=value,...)``; hyperparameters equal to their default are dropped, so
``sgd(momentum=0)`` and ``sgd`` are the same spec. conv, dense, maxpool, avgpool and dropout
take their first hyperparameter without its key (``conv(4,k=3)`` is ``conv(out=4,k=3)``).
A layered spec made of dense layers each followed by at most one activation is the dense spec
it spells (``3 dense(4) tanh dense(1) sigmoid`` == ``3-4-1 tanh,sigmoid``), printed densely.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, fields
from typing import Any

from .activations import activations
from .errors import SpecError, did_you_mean, unknown_name
from .initializers import initializers
from .layers import POSITIONAL, layers
from .losses import losses
from .optimizers import optimizers
from .registry import Registry, Value

DTYPES = ("float32", "float64")


@dataclass(frozen=True)
class Choice:
    """A registered variant with its non-default hyperparameters, e.g. ``sgd(lr=0.1)``."""

    name: str
    params: tuple[tuple[str, Value], ...] = ()

    def __str__(self) -> str:
        if not self.params:
            return self.name
        return f"{self.name}({','.join(f'{k}={_fmt(v)}' for k, v in self.params)})"

    @property
    def kwargs(self) -> dict[str, Value]:
        return dict(self.params)


def _fmt(v: Value) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return repr(v) if isinstance(v, float) else str(v)


def _value(text: str) -> Value:
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


_SPACES = re.compile(r"\s*([,=(])\s*")
_CLOSE = re.compile(r"\s+\)")
_CALL = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:\((.*)\))?$")


def choice(registry: Registry[Any], obj: Choice | str, **params: Value) -> Choice:
    """Validate ``obj`` (a Choice or text like ``'adam(lr=0.01)'``) against ``registry``."""
    if isinstance(obj, Choice):
        name, raw = obj.name, {**obj.kwargs, **params}
    else:
        m = _CALL.match(obj.strip()) if isinstance(obj, str) else None
        if not m:
            raise SpecError(
                f"cannot read {registry.kind} {obj!r}: write a name, or name(key=value,...)"
            )
        name, raw = m.group(1), dict(params)
        given: set[str] = set()
        for item in filter(None, (m.group(2) or "").split(",")):
            key, eq, val = item.partition("=")
            key = key.strip()
            if not eq or not key:
                raise SpecError(f"cannot read {item!r} in {obj!r}: write key=value")
            if key in given:
                raise SpecError(f"hyperparameter {key!r} is given twice in {obj!r}")
            given.add(key)
            raw[key] = _value(val.strip())
    name = registry.canonical(name)
    normal = registry.normalize(name, raw)
    registry[name].build(dict(normal))  # range checks happen here, before any work
    return Choice(name, normal)


@dataclass(frozen=True)
class Spec:
    """A network and how it is trained. Dense: layer sizes (input first) and one activation per
    layer (``layers == input_shape == ()``). Layered: ``input_shape`` (one sample) and ``layers``
    in order (``Choice``s of layers and activations), with ``sizes == activations == ()``.
    ``stack`` and ``in_shape`` read every spec as a layer sequence (dense(n), activation, ...)."""

    sizes: tuple[int, ...] = ()
    activations: tuple[Choice, ...] = ()
    bias: bool = True
    init: Choice = field(default=Choice("torch_default"))
    bias_init: Choice = field(default=Choice("torch_default"))
    loss: Choice = field(default=Choice("mse"))
    opt: Choice = field(default=Choice("sgd"))
    dtype: str = "float64"
    seed: int = 0
    batch: int = 8
    layers: tuple[Choice, ...] = ()
    input_shape: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if self.sizes or not (self.layers or self.input_shape):
            _dense_fields(self)
        else:
            shape, stack = _input_shape(self.input_shape), _layer_choices(self.layers)
            dense = _as_dense(shape, stack)
            if dense:
                set_(self, "sizes", dense[0])
                set_(self, "activations", dense[1])
                _dense_fields(self)
            else:
                set_(self, "input_shape", shape)
                set_(self, "layers", stack)
                set_(self, "sizes", ())
                set_(self, "activations", ())
        set_(self, "init", choice(initializers, self.init))
        set_(self, "bias_init", choice(initializers, self.bias_init))
        set_(self, "loss", choice(losses, self.loss))
        set_(self, "opt", choice(optimizers, self.opt))
        if not isinstance(self.bias, bool):
            raise SpecError(f"bias must be true or false, got {self.bias!r}")
        if self.dtype not in DTYPES:
            raise SpecError(f"dtype must be one of {', '.join(DTYPES)}, got {self.dtype!r}")
        for key in ("seed", "batch"):
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, int) or v < (0 if key == "seed" else 1):
                low = "an integer >= 0" if key == "seed" else "an integer >= 1"
                raise SpecError(f"{key} must be {low}, got {v!r}")
        if not self.sizes:
            _check_layers(self)
        _check_loss(self)

    @property
    def n_layers(self) -> int:
        """The number of layers holding weights, statistics or a mask (dense: of dense layers)."""
        return len(self.sizes) - 1 if self.sizes else sum(1 for c in self.layers if _numbered(c))

    @property
    def stack(self) -> tuple[Choice, ...]:
        """The layers in order; for a dense spec dense(n) and its activation per layer."""
        if not self.sizes:
            return self.layers
        out: list[Choice] = []
        for n, a in zip(self.sizes[1:], self.activations, strict=True):
            out += [Choice("dense", (("units", n),)), a]
        return tuple(out)

    @property
    def in_shape(self) -> tuple[int, ...]:
        """The shape of one input sample: (features,) or (C, H, W)."""
        return (self.sizes[0],) if self.sizes else self.input_shape

    @property
    def layered(self) -> bool:
        """True for a spec that only the layered form can write (conv, norm, dropout, ...)."""
        return not self.sizes

    @property
    def out_units(self) -> int:
        """Output units per sample (the spec's last size, or the last layer's width)."""
        return self.sizes[-1] if self.sizes else layer_shapes(self)[-1][0]

    @property
    def last_activation(self) -> str:
        """The name of the activation the output comes out of (identity if none ends it)."""
        if self.sizes:
            return self.activations[-1].name
        last = self.layers[-1].name
        return last if is_activation(last) else "identity"

    def __str__(self) -> str:
        if self.sizes:
            head = f"{'-'.join(map(str, self.sizes))} {','.join(map(str, self.activations))}"
        else:
            head = " ".join(["x".join(map(str, self.input_shape)), *map(layer_text, self.layers)])
        keys = ("bias", "init", "bias_init", "loss", "opt", "dtype", "seed", "batch")
        return " ".join([head, *(f"{k}={_fmt(getattr(self, k))}" for k in keys)])

    @classmethod
    def parse(cls, text: str) -> Spec:
        """Read the one-line form (see the module docstring). Spaces around ',', '=', '(' and
        before ')' are allowed: ``tanh, sigmoid`` and ``opt = sgd( lr=0.1 )`` read as written
        without them."""
        tokens = _tokens(_SPACES.sub(r"\1", _CLOSE.sub(")", text)))
        if len(tokens) < 2:
            raise SpecError(
                f"cannot read spec {text!r}: write sizes then activations, e.g. "
                "'3-4-1 tanh,sigmoid loss=mse opt=sgd(lr=0.1)', or an input shape then layers, "
                "e.g. '1x8x8 conv(4,k=3) relu flatten dense(2)'"
            )
        if _SHAPE.match(tokens[0]):
            n = next((i for i, t in enumerate(tokens[1:], 1) if _KEY.match(t)), len(tokens))
            kwargs: dict[str, Any] = {"input_shape": tokens[0], "layers": tuple(tokens[1:n])}
            rest = tokens[n:]
        else:
            kwargs = {"sizes": tokens[0], "activations": tokens[1]}
            rest = tokens[2:]
        names = {f.name for f in fields(cls)} - {"sizes", "activations", "layers", "input_shape"}
        for tok in rest:
            key, eq, val = tok.partition("=")
            if not eq:
                raise SpecError(f"cannot read {tok!r} in spec {text!r}: write key=value")
            if key not in names:
                known = sorted(names)
                raise SpecError(
                    f"unknown spec key {key!r}{did_you_mean(key, known)} Known keys: "
                    f"{', '.join(known)}"
                )
            if key in kwargs:
                raise SpecError(f"spec key {key!r} is given twice in {text!r}")
            kwargs[key] = _value(val) if key in ("bias", "seed", "batch") else val
        return cls(**kwargs)

    def replace(self, **changes: Any) -> Spec:
        """A copy with some fields changed (validated like a new spec). On a dense spec the
        sizes and activations rule; change ``layers`` only on a layered one."""
        import dataclasses

        return dataclasses.replace(self, **changes)


_SHAPE = re.compile(r"^\d+(x\d+)*$")
_KEY = re.compile(r"^[A-Za-z_]+=")


def _dense_fields(spec: Spec) -> None:
    """Validate sizes and activations (layers and input_shape stay empty)."""
    sizes = _sizes(spec.sizes)
    acts = spec.activations
    if isinstance(acts, (str, Choice)):
        acts = _split(acts) if isinstance(acts, str) else (acts,)
    acts = tuple(choice(activations, a) for a in acts)
    if len(acts) != len(sizes) - 1:
        raise SpecError(
            f"{len(sizes) - 1} layer(s) ({'-'.join(map(str, sizes))}) need "
            f"{len(sizes) - 1} activation(s), one per layer; got {len(acts)}: "
            f"{','.join(map(str, acts))}"
        )
    set_ = object.__setattr__
    set_(spec, "sizes", sizes)
    set_(spec, "activations", acts)
    set_(spec, "layers", ())
    set_(spec, "input_shape", ())


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
            first, *rest = _split(m.group(2))
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


def _sizes(sizes: Any) -> tuple[int, ...]:
    if isinstance(sizes, str):
        try:
            sizes = tuple(int(s) for s in sizes.split("-"))
        except ValueError:
            raise SpecError(
                f"cannot read layer sizes {sizes!r}: write whole numbers joined by '-', e.g. 3-4-1"
            ) from None
    sizes = tuple(sizes)
    if len(sizes) < 2:
        raise SpecError(f"need at least an input and an output size, got {sizes!r}")
    for s in sizes:
        if isinstance(s, bool) or not isinstance(s, int) or s < 1:
            raise SpecError(f"layer sizes must be whole numbers >= 1, got {sizes!r}")
    return sizes


def _split(text: str) -> tuple[str, ...]:
    """Split on commas outside parentheses."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    return tuple(p for p in [*parts, cur] if p.strip())


def _tokens(text: str) -> list[str]:
    """Split on white space outside parentheses."""
    out, depth, cur = [], 0, ""
    for ch in text.strip():
        depth += (ch == "(") - (ch == ")")
        if ch.isspace() and depth == 0:
            if cur:
                out.append(cur)
            cur = ""
        elif not ch.isspace():
            cur += ch
    return [*out, cur] if cur else out


def _check_loss(spec: Spec) -> None:
    loss = losses[spec.loss.name].build(spec.loss.kwargs)
    out_units, last = spec.out_units, spec.last_activation
    name = spec.loss.name
    if out_units < loss.min_units:
        raise SpecError(
            f"{name} needs at least {loss.min_units} output units (one per class), got "
            f"{out_units}; for two classes with one unit use bce_with_logits"
        )
    if loss.max_units is not None and out_units > loss.max_units:
        raise SpecError(
            f"{name} takes {loss.max_units} output unit, got {out_units}; for several classes "
            "use cross_entropy (logits) or nll (after log_softmax)"
        )
    if loss.expects is not None and last != loss.expects:
        why = {
            "identity": "it takes raw logits and applies its own (stable) normalisation",
            "sigmoid": "it takes probabilities in [0, 1]",
            "log_softmax": "it takes log-probabilities",
        }[loss.expects]
        raise SpecError(
            f"loss {name} needs the last activation to be {loss.expects} ({why}); got {last}"
        )
