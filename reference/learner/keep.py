"""A learner's state, kept and put back in place: what its step or backward pass can leave
behind besides the named parameters (a transposed copy of W re-synced by its update, counters,
caches), so that a call run twice from the same weights starts from the same state each time.

``snapshot(root, *functions)`` walks the objects below ``root`` and what the learner's own
functions reach (their closures and module globals; nnparity's wrappers are looked through):
attributes (``__slots__`` too), lists, tuples, dicts, a few levels deep, recording every value
with a copy of each array; ``restore`` puts each container's values back, the arrays' contents
in place, so that references the learner's own functions hold (a closure over a layer, a view
of W) see the restored state. An object that will not show its state is left as it is, and
random generators are left alone: a learner that draws anew at each call stays nondeterministic.
"""

from __future__ import annotations

import types
from typing import Any

import numpy as np

DEPTH = 6
BUDGET = 64 * 2**20  # bytes of arrays copied at most, in walk order
ENTRIES = 200_000  # values recorded at most (a list of a million floats is not state)
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


def snapshot(*roots: Any) -> list[Entry]:
    """Every (container, key, value) below ``roots``, with a copy of each array (within
    ``BUDGET`` bytes: a training set kept on the network is not copied, only its place). A
    function among the roots stands for what it reaches: its closure's cells and its module's
    globals (state kept there: a module-level dict, a closed-over list)."""
    out: list[Entry] = []
    seen: set[int] = set()
    left = [BUDGET]
    for root in roots:
        if isinstance(root, types.MethodType):  # a bound method: its object, and its function
            _walk(root.__self__, 0, out, seen, left)
            root = root.__func__
        if isinstance(root, types.FunctionType):
            for fn in _learners(root, 0):
                for cell in fn.__closure__ or ():
                    _walk(cell, 0, out, seen, left)
                _walk(fn.__globals__, 0, out, seen, left)
        elif root is not None:
            _walk(root, 0, out, seen, left)
    return out


def _learners(fn: types.FunctionType, depth: int) -> list[types.FunctionType]:
    """``fn`` if it is the learner's, else the learner's functions its closure holds (an
    adapter's wrapper around them), a few levels down."""
    module = str(fn.__globals__.get("__name__", ""))
    if module != "nnparity" and not module.startswith("nnparity."):  # a learner's file is
        return [fn]  # loaded as nnparity_learner_<stem>: its functions are the learner's
    found = []
    for cell in fn.__closure__ or () if depth < 3 else ():
        try:
            inner = cell.cell_contents
        except ValueError:
            continue
        if isinstance(inner, types.FunctionType):
            found += _learners(inner, depth + 1)
    return found


def restore(entries: list[Entry]) -> None:
    """Put every recorded value back where it was, arrays' contents in place."""
    for container, key, value, copy in entries:
        try:
            if _get(container, key) is not value:
                _set(container, key, value)
            if copy is not None and value.flags.writeable and value.shape == copy.shape:
                np.copyto(value, copy)
        except Exception:  # noqa: BLE001 - a container that changed shape or refuses: as it is
            continue


def _items(obj: Any) -> list[tuple[Any, Any]]:
    if isinstance(obj, dict):
        return [(k, v) for k, v in obj.items() if not (isinstance(k, str) and k[:2] == "__")]
    if isinstance(obj, list | tuple):
        return list(enumerate(obj))
    if isinstance(obj, types.CellType):
        try:
            return [("cell_contents", obj.cell_contents)]
        except ValueError:  # an empty cell
            return []
    d = getattr(obj, "__dict__", None)
    out = list(d.items()) if isinstance(d, dict) else []
    for cls in type(obj).__mro__:  # __slots__ attributes
        slots = cls.__dict__.get("__slots__", ())
        for name in (slots,) if isinstance(slots, str) else slots:
            if name not in ("__dict__", "__weakref__") and hasattr(obj, name):
                out.append((name, getattr(obj, name)))
    return out


def _walk(obj: Any, depth: int, out: list[Entry], seen: set[int], left: list[int]) -> None:
    try:
        if depth > DEPTH or len(out) > ENTRIES or id(obj) in seen or isinstance(obj, _SKIP):
            return
        seen.add(id(obj))
        items = _items(obj)
    except Exception:  # noqa: BLE001 - an object that will not show its state: left alone
        return
    for key, value in items:
        if len(out) > ENTRIES:
            return
        try:
            if isinstance(value, _SKIP):
                continue
            copy = None
            if isinstance(value, np.ndarray) and value.nbytes <= left[0]:
                copy, left[0] = value.copy(), left[0] - value.nbytes
            leaf = isinstance(value, np.ndarray | str | bytes | int | float | complex | bool)
        except Exception:  # noqa: BLE001 - as above
            continue
        out.append((obj, key, value, copy))
        if not leaf:
            _walk(value, depth + 1, out, seen, left)


def _get(container: Any, key: Any) -> Any:
    if isinstance(container, dict | list | tuple):
        return container[key]
    return getattr(container, key)


def _set(container: Any, key: Any, value: Any) -> None:
    if isinstance(container, dict | list):
        container[key] = value
    else:  # a tuple refuses (TypeError): its arrays are restored in place only
        setattr(container, key, value)
