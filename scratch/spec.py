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
The choices' text is read in ``spec_choice``, the layered form's layers in ``spec_layers``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from functools import cached_property
from typing import Any

from .activations import activations
from .errors import SpecError, did_you_mean
from .initializers import initializers
from .losses import losses
from .optimizers import optimizers
from .spec_choice import _CLOSE, _SPACES, Choice, _fmt, _tokens, _value, choice, split_commas
from .spec_layers import (
    _SHAPE,
    _as_dense,
    _check_layers,
    _input_shape,
    _layer_choices,
    _numbered,
    is_activation,
    layer_choice,
    layer_shapes,
    layer_text,
)

__all__ = [
    "DTYPES",
    "Choice",
    "Spec",
    "choice",
    "is_activation",
    "layer_choice",
    "layer_shapes",
    "layer_text",
]

DTYPES = ("float32", "float64")


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
        if not self.layered:
            _check_one_unit(self)

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

    @cached_property
    def out_units(self) -> int:
        """Output units per sample (the spec's last size, or the last layer's width); computed
        once per spec (a layered spec walks its layers), as data checks ask on every step."""
        return self.sizes[-1] if self.sizes else layer_shapes(self)[-1][0]

    @property
    def last_activation(self) -> str:
        """The name of the activation the output comes out of (identity if none ends it)."""
        if self.sizes:
            return self.activations[-1].name
        last = self.layers[-1].name
        return last if is_activation(last) else "identity"

    def __str__(self) -> str:
        return self._text

    def __hash__(self) -> int:  # kept explicit, so dataclass leaves it; specs key many caches
        return self._hash

    @cached_property
    def _hash(self) -> int:
        return hash(tuple(getattr(self, f.name) for f in fields(self)))

    def __getstate__(self) -> dict[str, Any]:  # a string's hash differs between processes
        return {k: v for k, v in self.__dict__.items() if k != "_hash"}

    @cached_property
    def _text(self) -> str:  # the one-line form, written once per spec (records carry it)
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


_KEY = re.compile(r"^[A-Za-z_]+=")


def _dense_fields(spec: Spec) -> None:
    """Validate sizes and activations (layers and input_shape stay empty)."""
    sizes = _sizes(spec.sizes)
    acts = spec.activations
    if isinstance(acts, (str, Choice)):
        acts = split_commas(acts) if isinstance(acts, str) else (acts,)
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


def _check_one_unit(spec: Spec) -> None:
    """A row-wise activation (softmax) over a layer of one unit is constant: refused."""
    sizes, acts = spec.sizes, spec.activations
    for width, a in zip(sizes[1:], acts, strict=True):  # softmax of one number is 1
        if width == 1 and a.name in activations.names("output"):
            raise SpecError(
                f"{a.name} over a layer of one unit is constant ({a.name}(z) = "
                f"{'1' if a.name == 'softmax' else '0'} for every z): its gradient is 0 and "
                "nothing before it learns; for one output use sigmoid, or give the layer two "
                "units (one per class) for softmax"
            )


def _check_loss(spec: Spec) -> None:
    loss = losses[spec.loss.name].build(spec.loss.kwargs)
    out_units, last = spec.out_units, spec.last_activation
    name = spec.loss.name
    if out_units < loss.min_units:
        raise SpecError(
            f"{name} needs at least {loss.min_units} output units (one per class), got "
            f"{out_units}; for two classes with one unit use bce_with_logits"
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
