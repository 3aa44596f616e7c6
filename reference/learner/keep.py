"""A learner's state, kept and put back in place: what its step or backward pass can leave
behind besides the named parameters (a transposed copy of W re-synced by its update, counters,
caches), so that a call run twice from the same weights starts from the same state each time.

``snapshot(root)`` walks the objects below ``root`` (attributes, lists, dicts; a few levels
deep) and records every value with a copy of each array; ``restore`` puts each container's
values back, the arrays' contents in place, so that references the learner's own functions
hold (a closure over a layer, a view of W) see the restored state. Random generators are left
alone: a learner that draws anew at each call stays nondeterministic.
"""

from __future__ import annotations

import types
from typing import Any

import numpy as np

DEPTH = 4
BUDGET = 64 * 2**20  # bytes of arrays copied at most, smallest first in walk order
Entry = tuple[Any, Any, Any, Any]  # (container, key, value, array copy or None)
_SKIP = (
    types.ModuleType,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    type,
    np.random.Generator,
    np.random.RandomState,
    np.random.BitGenerator,
)


def snapshot(root: Any) -> list[Entry]:
    """Every (container, key, value) below ``root``, with a copy of each array (within
    ``BUDGET`` bytes: a training set kept on the network is not copied, only its place)."""
    out: list[Entry] = []
    seen: set[int] = set()
    _walk(root, 0, out, seen, [BUDGET])
    return out


def restore(entries: list[Entry]) -> None:
    """Put every recorded value back where it was, arrays' contents in place."""
    for container, key, value, copy in entries:
        try:
            if _get(container, key) is not value:
                _set(container, key, value)
            if copy is not None and value.flags.writeable and value.shape == copy.shape:
                np.copyto(value, copy)
        except (AttributeError, TypeError, KeyError, IndexError, ValueError):
            continue  # a container that changed shape or refuses: left as it is


def _items(obj: Any) -> list[tuple[Any, Any]]:
    if isinstance(obj, dict):
        return list(obj.items())
    if isinstance(obj, list):
        return list(enumerate(obj))
    d = getattr(obj, "__dict__", None)
    return list(d.items()) if isinstance(d, dict) else []


def _walk(obj: Any, depth: int, out: list[Entry], seen: set[int], left: list[int]) -> None:
    if depth > DEPTH or id(obj) in seen or isinstance(obj, _SKIP):
        return
    seen.add(id(obj))
    for key, value in _items(obj):
        if isinstance(value, _SKIP):
            continue
        copy = None
        if isinstance(value, np.ndarray) and value.nbytes <= left[0]:
            copy, left[0] = value.copy(), left[0] - value.nbytes
        out.append((obj, key, value, copy))
        if not isinstance(value, np.ndarray | str | bytes | int | float | complex | bool):
            _walk(value, depth + 1, out, seen, left)
        if isinstance(value, tuple):
            for v in value:
                if not isinstance(v, np.ndarray):
                    _walk(v, depth + 1, out, seen, left)


def _get(container: Any, key: Any) -> Any:
    if isinstance(container, dict | list):
        return container[key]
    return getattr(container, key)


def _set(container: Any, key: Any, value: Any) -> None:
    if isinstance(container, dict | list):
        container[key] = value
    else:
        setattr(container, key, value)
