"""The learner's own parameter names: a small path language over the learner's objects.

    "w_ij"            attribute ``w_ij`` (a key, when the object is a dict)
    "weights[0]"      item 0 of the list ``weights``
    "params['W1']"    key 'W1' of the dict ``params`` (quotes optional)
    "layers[1].W"     attribute ``W`` of item 1 of ``layers``
    "w[0]"            element 0 of the array ``w`` (a 1x1 weight held as one number)

``get(root, path)`` reads, ``put(root, path, value)`` writes: into the existing array when it has
the same shape (so references the learner keeps stay valid), else by rebinding the name.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, MutableMapping
from typing import Any

import numpy as np

from nnparity.scratch.errors import NNParityError, SpecError

_TOKEN = re.compile(
    r"\s*(?:\.?\s*([A-Za-z_]\w*)|\[\s*(-?\d+|'[^']*'|\"[^\"]*\"|[A-Za-z_]\w*)\s*\])\s*"
)


class LearnerError(NNParityError):
    """The adapter does not fit the learner's network (names, shapes, declarations)."""


class DeclarationError(LearnerError, SpecError):
    """A declared name or value (activation, loss, optimizer) that scratch does not know."""


@functools.lru_cache(maxsize=1024)  # the same few names are read and written at every step
def parse(path: str) -> tuple[tuple[str, Any], ...]:
    """``"layers[1].W"`` -> ``(("attr", "layers"), ("item", 1), ("attr", "W"))``."""
    steps: list[tuple[str, Any]] = []
    pos = 0
    while pos < len(path):
        m = _TOKEN.match(path, pos)
        if not m or m.end() == pos:
            raise LearnerError(
                f"cannot read parameter name {path!r} at {path[pos:]!r}: write names like "
                "'w_ij', 'weights[0]', \"params['W1']\" or 'layers[1].weights'"
            )
        attr, item = m.groups()
        if attr is not None:
            steps.append(("attr", attr))
        elif item[0] in "'\"":
            steps.append(("item", item[1:-1]))
        else:
            steps.append(("item", int(item) if item.lstrip("-").isdigit() else item))
        pos = m.end()
    if not steps:
        raise LearnerError("a parameter name is empty")
    return tuple(steps)


def _step(obj: Any, kind: str, key: Any, path: str) -> Any:
    try:
        if kind == "attr" and not isinstance(obj, Mapping):
            return getattr(obj, key)
        return obj[key]
    except (AttributeError, KeyError, IndexError, TypeError):
        where = type(obj).__name__
        known = list(obj)[:12] if isinstance(obj, Mapping) else None
        extra = f"; its keys: {', '.join(map(str, known))}" if known is not None else ""
        arrays = _arrays(obj) if known is None and kind == "attr" else []
        if arrays:  # an object's array attributes: the names it does have (review s19b)
            extra = f"; its arrays: {', '.join(arrays[:12])}"
        if isinstance(obj, list | tuple) and kind == "attr" and path.startswith(f"{key}["):
            rest = path[len(key) :]  # the owner is the list itself (review s36 7d)
            extra = f"; the owner you passed is this {where}: name its items from it, {rest!r}"
        raise LearnerError(f"parameter {path!r}: {where} has no {key!r}{extra}") from None


def _arrays(obj: Any) -> list[str]:
    """The names of ``obj``'s attributes that hold arrays (or lists of them)."""
    try:
        items = vars(obj).items()
    except TypeError:
        return []
    return [k for k, v in items if hasattr(v, "shape") or (isinstance(v, list) and v
            and all(hasattr(x, "shape") for x in v))]  # fmt: skip


def get(root: Any, path: str) -> Any:
    """The object at ``path`` below ``root``."""
    obj = root
    for kind, key in parse(path):
        obj = _step(obj, kind, key, path)
    return obj


def put(root: Any, path: str, value: np.ndarray) -> None:
    """Write ``value`` at ``path``: in place into an array of the same shape, else rebind."""
    steps = parse(path)
    parent = root
    for kind, key in steps[:-1]:
        parent = _step(parent, kind, key, path)
    kind, key = steps[-1]
    current = _step(parent, kind, key, path)
    if isinstance(current, np.ndarray) and current.shape == value.shape:
        if current.flags.writeable:
            current[...] = value
            again = _step(parent, kind, key, path)  # a getter may hand out a new array each
            if again is current or np.may_share_memory(again, current):  # time: then the
                return  # write went to a copy, and the name is assigned below
    if isinstance(current, np.ndarray):
        value = value.astype(current.dtype, copy=True)
    elif isinstance(current, float | int | np.floating) and value.size == 1:  # an int: float
        value = (float if isinstance(current, int) else type(current))(value.reshape(()))
    if kind == "attr" and not isinstance(parent, Mapping):
        try:
            setattr(parent, key, value)
        except AttributeError as e:  # a read-only property
            raise LearnerError(
                f"parameter {path!r} cannot be written ({e}): it is computed on each read; "
                "name the array it is made from, or give the property a setter"
            ) from None
    elif isinstance(parent, MutableMapping | list | np.ndarray):
        parent[key] = value
    else:
        raise LearnerError(f"parameter {path!r}: cannot write into a {type(parent).__name__}")


def grad_keys(path: str) -> tuple[str, ...]:
    """The keys a gradient dict may hold a parameter's gradient under: its path, its last name,
    and that name with a ``d`` before it (deeplearning.ai's ``grads['dW1']`` for ``W1``)."""
    return (path, short(path), f"d{short(path)}")


def short(path: str) -> str:
    """The last name in a path: ``"params['W1']"`` -> ``"W1"``, ``"weights[0]"`` -> ``"0"``."""
    return str(parse(path)[-1][1])
