"""``Choice`` and ``choice``: a registered variant read from text, validated; splitting a spec."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .errors import SpecError
from .registry import Registry, Value


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
        # an activation's values may come without keys, in the order of torch.nn's signature
        positional = registry.kind == "activation"
        order = list(registry[registry.canonical(name)].defaults) if positional else []
        given: set[str] = set()
        keyword = False
        for i, item in enumerate(filter(None, (m.group(2) or "").split(","))):
            key, eq, val = item.partition("=")
            key = key.strip()
            keyword = keyword or bool(eq)
            if not eq and key and not keyword and i < len(order):
                key, val = order[i], item  # positional, in the order of the signature
            elif not eq and key and not keyword and positional:
                takes = (
                    f"at most {len(order)} value(s), in the order {', '.join(order)}"
                    if order
                    else "no hyperparameters"
                )
                raise SpecError(f"cannot read {item!r} in {obj!r}: {name} takes {takes}")
            elif not eq or not key:
                raise SpecError(f"cannot read {item!r} in {obj!r}: write key=value")
            if key in given:
                raise SpecError(f"hyperparameter {key!r} is given twice in {obj!r}")
            given.add(key)
            raw[key] = _value(val.strip())
    name = registry.canonical(name)
    normal = registry.normalize(name, raw)
    registry[name].build(dict(normal))  # range checks happen here, before any work
    return Choice(name, normal)


def split_commas(text: str) -> tuple[str, ...]:
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
