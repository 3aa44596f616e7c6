"""Name -> variant registries. Each variant is registered once, by name, with its defaults.

A variant is a factory ``make(**hyperparameters) -> implementation``; the registry records the
factory's keyword defaults so specs, the CLI and the tests can enumerate and validate them.
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np

from .errors import SpecError, did_you_mean, unknown_name

T = TypeVar("T")
Value = float | int | bool | str


@dataclass(frozen=True)
class Variant(Generic[T]):
    name: str
    make: Callable[..., T]
    defaults: dict[str, Value]
    doc: str
    tags: frozenset[str]

    def build(self, params: dict[str, Value] | None = None) -> T:
        """The implementation with these hyperparameters (defaults for the rest). NumPy scalars
        become Python scalars: an np.float64 lr would upcast float32 arrays (NEP 50)."""
        params = params or {}
        for key in params:
            if key not in self.defaults:
                known = ", ".join(self.defaults) or "none"
                raise SpecError(f"{self.name!r} has no hyperparameter {key!r}; known: {known}")
        plain = {k: v.item() if isinstance(v, np.generic) else v for k, v in params.items()}
        return self.make(**{**self.defaults, **plain})


class Registry(Generic[T]):
    """An ordered mapping name -> Variant, filled by the ``register`` decorator."""

    def __init__(self, kind: str):
        self.kind = kind
        self._variants: dict[str, Variant[T]] = {}

    def register(self, *tags: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
        def deco(make: Callable[..., T]) -> Callable[..., T]:
            name = make.__name__.rstrip("_")
            if name in self._variants:
                raise RuntimeError(f"{self.kind} {name!r} registered twice")
            sig = inspect.signature(make)
            defaults = {k: p.default for k, p in sig.parameters.items()}
            if any(v is inspect.Parameter.empty for v in defaults.values()):
                raise RuntimeError(f"{self.kind} {name!r}: every hyperparameter needs a default")
            doc = inspect.getdoc(make) or ""
            self._variants[name] = Variant(name, make, defaults, doc, frozenset(tags))
            return make

        return deco

    def __getitem__(self, name: str) -> Variant[T]:
        try:
            return self._variants[self.canonical(name)]
        except KeyError:
            raise unknown_name(self.kind, name, list(self._variants)) from None

    def canonical(self, name: str) -> str:
        """The registered name that ``name`` spells in another case or style: ``ReLU`` ->
        ``relu``, ``LeakyReLU`` -> ``leaky_relu``, ``BCELoss`` -> ``bce`` (case, ``_`` and ``-``
        ignored, and a trailing ``loss`` for losses); ``name`` itself when none or several do."""
        if name in self._variants or not isinstance(name, str):
            return name
        folded = [_fold(name)]
        if self.kind == "loss" and folded[0].endswith("loss"):
            folded.append(folded[0][: -len("loss")])
        for key in folded:
            hits = [n for n in self._variants if _fold(n) == key]
            if len(hits) == 1:
                return hits[0]
        return name

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.canonical(name) in self._variants

    def __iter__(self) -> Iterator[str]:
        return iter(self._variants)

    def __len__(self) -> int:
        return len(self._variants)

    def names(self, tag: str | None = None) -> list[str]:
        return [n for n, v in self._variants.items() if tag is None or tag in v.tags]

    def normalize(self, name: str, params: dict[str, Any]) -> tuple[tuple[str, Value], ...]:
        """Check hyperparameter names and types; return the non-default ones, in declared order."""
        variant = self[name]
        out = []
        for key in params:
            if key not in variant.defaults:
                known = ", ".join(variant.defaults) or "none"
                alone = (  # (review s32 F9: Victor Zhou's bias-free conv before a dense)
                    " (one layer without a bias beside others with one cannot be declared yet: "
                    "the spec's bias=false takes every layer's)"
                    if key == "bias"
                    else ""
                )
                raise SpecError(
                    f"{self.kind} {name!r} has no hyperparameter {key!r}"
                    f"{did_you_mean(key, list(variant.defaults))} Its hyperparameters: {known}"
                    f"{alone}"
                )
        for key, default in variant.defaults.items():
            if key not in params:
                continue
            value = _coerce(self.kind, name, key, params[key], default)
            if value != default or type(value) is not type(default):
                out.append((key, value))
        return tuple(out)


def _fold(name: str) -> str:
    return name.lower().replace("_", "").replace("-", "")


def _coerce(kind: str, name: str, key: str, value: Any, default: Value) -> Value:
    where = f"{kind} {name!r} hyperparameter {key!r}"
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        raise SpecError(f"{where} must be true or false, got {value!r}")
    if isinstance(default, (int, float)):
        if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
            raise SpecError(f"{where} must be a number, got {value!r}")  # np.float32(0.1) is one
        if not math.isfinite(value):
            raise SpecError(f"{where} must be a finite number, got {value!r}")
        if isinstance(default, int) and float(value).is_integer():
            return int(value)
        return float(value)
    if not isinstance(value, str):
        raise SpecError(f"{where} must be a word, got {value!r}")
    return value
