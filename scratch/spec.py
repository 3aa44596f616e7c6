"""``Spec``: a frozen, hashable description of a network and how it is trained.

One line of text describes it and parses back exactly (``Spec.parse(str(s)) == s``)::

    3-4-1 tanh,sigmoid loss=bce opt=sgd(lr=0.1,momentum=0.9) init=xavier_uniform seed=0

Layer sizes, then one activation per layer, then ``key=value`` tokens in any order
(bias, init, bias_init, loss, opt, dtype, seed, batch); absent keys take their defaults.
A variant with hyperparameters is written ``name(key=value,...)``; hyperparameters equal to
their default are dropped, so ``sgd(momentum=0)`` and ``sgd`` are the same spec.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from typing import Any

from .activations import activations
from .errors import SpecError, did_you_mean
from .initializers import initializers
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
    """Layer sizes (input first), one activation per layer, and how the network is trained."""

    sizes: tuple[int, ...]
    activations: tuple[Choice, ...]
    bias: bool = True
    init: Choice = field(default=Choice("torch_default"))
    bias_init: Choice = field(default=Choice("torch_default"))
    loss: Choice = field(default=Choice("mse"))
    opt: Choice = field(default=Choice("sgd"))
    dtype: str = "float64"
    seed: int = 0
    batch: int = 8

    def __post_init__(self) -> None:
        sizes = _sizes(self.sizes)
        acts = self.activations
        if isinstance(acts, (str, Choice)):
            acts = _split(acts) if isinstance(acts, str) else (acts,)
        acts = tuple(choice(activations, a) for a in acts)
        set_ = object.__setattr__
        set_(self, "sizes", sizes)
        set_(self, "activations", acts)
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
        if len(acts) != len(sizes) - 1:
            raise SpecError(
                f"{len(sizes) - 1} layer(s) ({'-'.join(map(str, sizes))}) need "
                f"{len(sizes) - 1} activation(s), one per layer; got {len(acts)}: "
                f"{','.join(map(str, acts))}"
            )
        _check_loss(self)

    @property
    def n_layers(self) -> int:
        return len(self.sizes) - 1

    def __str__(self) -> str:
        head = f"{'-'.join(map(str, self.sizes))} {','.join(map(str, self.activations))}"
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
                "'3-4-1 tanh,sigmoid loss=mse opt=sgd(lr=0.1)'"
            )
        kwargs: dict[str, Any] = {"sizes": tokens[0], "activations": tokens[1]}
        names = {f.name for f in fields(cls)} - {"sizes", "activations"}
        for tok in tokens[2:]:
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
        """A copy with some fields changed (validated like a new spec)."""
        import dataclasses

        return dataclasses.replace(self, **changes)


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
    out_units, last = spec.sizes[-1], spec.activations[-1].name
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
