"""A learner's state, kept and put back in place: what its step or backward pass can leave
behind besides the named parameters (a transposed copy of W re-synced by its update, counters,
caches), so that a call run twice from the same weights starts from the same state each time.

``snapshot(root, *functions)`` walks the objects below ``root`` and what the learner's own
functions reach (their closures and module globals; nnparity's wrappers are looked through):
attributes (``__slots__`` too), lists, tuples, dicts, a few levels deep, recording every value
with a copy of each array; ``restore`` puts each container's values back (a list to its
length), the arrays' contents in place, so that references the learner's own functions hold (a
closure over a layer, a view of W) see the restored state. An object that will not show its
state is left as it is, and random generators are left alone: a learner that draws anew at
each call stays nondeterministic.
"""

from __future__ import annotations

import os
import sys
import types
from functools import partial
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
    globals (state kept there: a module-level dict, a closed-over list); a bound method, a
    ``functools.partial`` or an object with ``__call__`` for its object or arguments and its
    function. The learner's own classes (class attributes: a counter ``Sched.t``) and modules
    (a file beside the learner's, imported by it) are walked as containers too."""
    out: list[Entry] = []
    seen: set[int] = set()
    left = [BUDGET]
    objects, functions = _expand(roots, 0)
    homes = {_home(fn.__globals__.get("__file__")) for fn in functions} - {None}
    walk = partial(_walk, out=out, seen=seen, left=left, homes=homes)
    for fn in functions:
        for cell in fn.__closure__ or ():
            walk(cell, 0)
        walk(fn.__globals__, 0)
    for obj in objects:
        walk(obj, 0)
    return out


def _expand(roots: Any, depth: int) -> tuple[list[Any], list[types.FunctionType]]:
    """(objects, the learner's functions) that ``roots`` stand for; an adapter's wrapper (a
    function of nnparity's) stands for the callables its closure holds, a few levels down."""
    objects: list[Any] = []
    functions: list[types.FunctionType] = []
    for root in roots:
        if root is None or depth > 3:
            continue
        if isinstance(root, types.MethodType):  # a bound method: its object, and its function
            objects.append(root.__self__)
            root = root.__func__
        if isinstance(root, partial):  # its arguments, and its function
            objects += [root.args, root.keywords]
            root = root.func
        if isinstance(root, types.FunctionType):
            module = str(root.__globals__.get("__name__", ""))
            if module != "nnparity" and not module.startswith("nnparity."):  # a learner's
                functions.append(root)  # file is loaded as nnparity_learner_<stem>: its own
                inner = [c for c in _cells(root) if isinstance(c, types.FunctionType)]
                functions += _expand(inner, depth + 1)[1]  # (a helper it closes over: upd)
                continue
            inner = [c for c in _cells(root) if callable(c) and not isinstance(c, type)]
            o, f = _expand(inner, depth + 1)
            objects, functions = objects + o, functions + f
        elif isinstance(call := _method(type(root), "__call__"), types.FunctionType):
            objects.append(root)  # an object with __call__: its state, and its method
            functions.append(call)
        elif not isinstance(root, types.BuiltinFunctionType):
            objects.append(root)
    return objects, functions


def _cells(fn: types.FunctionType) -> list[Any]:
    """What ``fn``'s closure holds (its filled cells)."""
    out = []
    for cell in fn.__closure__ or ():
        try:
            out.append(cell.cell_contents)
        except ValueError:  # a cell not yet filled
            continue
    return out


def _method(cls: type, name: str) -> Any:
    return next((c.__dict__[name] for c in cls.__mro__ if name in c.__dict__), None)


def _home(path: Any) -> str | None:
    return os.path.dirname(os.path.abspath(path)) if isinstance(path, str) else None


def _own(obj: Any, homes: set[str]) -> bool:
    """A class or module of the learner's: defined in a file in the learner's folder."""
    if isinstance(obj, type):
        obj = sys.modules.get(obj.__module__)
    return isinstance(obj, types.ModuleType) and _home(getattr(obj, "__file__", None)) in homes


def restore(entries: list[Entry]) -> None:
    """Put every recorded value back where it was, arrays' contents in place; a dict's key or
    an object's attribute made after the snapshot is taken away (state a program creates on
    its first step, nnfs's ``if not hasattr(layer, 'weight_momentums')``, is not there
    before it), and one taken away since is put back."""
    for container, key, value, copy in entries:
        try:
            if key is _KEYS:
                _drop_new(container, value)
                continue
            if key is _LEN:  # a list's length: items appended since are taken away (numpy-ml
                del container[value:]  # appends each forward's input to a list: review s49 F1)
                container.extend([None] * (value - len(container)))  # (then its items, below)
                continue
            try:
                there = _get(container, key) is value
            except (KeyError, AttributeError, IndexError):
                there = False
            if not there:
                _set(container, key, value)
            if copy is not None and value.flags.writeable and value.shape == copy.shape:
                np.copyto(value, copy)
        except Exception:  # noqa: BLE001 - a container that changed shape or refuses: as it is
            continue


_KEYS = object()  # an entry's key: ``value`` is the set of the container's keys at the time
_LEN = object()  # an entry's key: ``value`` is the list's length at the time


def _names(obj: Any) -> dict | None:
    """The dict whose keys are ``obj``'s state: itself, or a plain object's ``__dict__``."""
    if isinstance(obj, dict):
        return obj
    if isinstance(obj, type | types.ModuleType):
        return None
    d = getattr(obj, "__dict__", None)
    return d if type(d) is dict else None


def _drop_new(container: Any, keys: frozenset) -> None:
    d = _names(container)
    for k in [k for k in d or () if k not in keys and not (isinstance(k, str) and k[:2] == "__")]:
        del d[k]


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
    if isinstance(obj, type | types.ModuleType):  # the learner's own (``_own``): a class's
        return [(k, v) for k, v in vars(obj).items() if k[:2] != "__"]  # or module's names
    d = getattr(obj, "__dict__", None)
    out = list(d.items()) if isinstance(d, dict) else []
    for cls in type(obj).__mro__:  # __slots__ attributes
        slots = cls.__dict__.get("__slots__", ())
        for name in (slots,) if isinstance(slots, str) else slots:
            if name not in ("__dict__", "__weakref__") and hasattr(obj, name):
                out.append((name, getattr(obj, name)))
    return out


def _walk(
    obj: Any, depth: int, out: list[Entry], seen: set[int], left: list[int], homes: set[str]
) -> None:
    try:
        if depth > DEPTH or len(out) > ENTRIES or id(obj) in seen:
            return
        if isinstance(obj, _SKIP) and not _own(obj, homes):
            return
        seen.add(id(obj))
        items = _items(obj)
        names = _names(obj)
        if names is not None:  # the keys there now: one made later is taken away on restore
            out.append((obj, _KEYS, frozenset(names), None))
        if type(obj) is list:  # its length now: items appended later are taken away
            out.append((obj, _LEN, len(obj), None))
        if not isinstance(obj, type | types.ModuleType) and _own(type(obj), homes):
            _walk(type(obj), depth + 1, out, seen, left, homes)  # its class attributes
    except Exception:  # noqa: BLE001 - an object that will not show its state: left alone
        return
    for key, value in items:
        if len(out) > ENTRIES:
            return
        try:
            if isinstance(value, _SKIP) and not _own(value, homes):
                continue
            copy = None
            if isinstance(value, np.ndarray) and value.nbytes <= left[0]:
                copy, left[0] = value.copy(), left[0] - value.nbytes
            leaf = isinstance(value, np.ndarray | str | bytes | int | float | complex | bool)
        except Exception:  # noqa: BLE001 - as above
            continue
        out.append((obj, key, value, copy))
        if not leaf:
            _walk(value, depth + 1, out, seen, left, homes)


def _get(container: Any, key: Any) -> Any:
    if isinstance(container, dict | list | tuple):
        return container[key]
    return getattr(container, key)


def _set(container: Any, key: Any, value: Any) -> None:
    if isinstance(container, dict | list):
        container[key] = value
    else:  # a tuple refuses (TypeError): its arrays are restored in place only
        setattr(container, key, value)


def weight_copies(entries: list[Entry], params: list[Any]) -> list[tuple[int, Any, bool]]:
    """(parameter index, the array, transposed) of every copy the learner's state holds of a
    named parameter (of two values or more): an array equal to it, or to its transpose,
    sharing no memory with it (a transposed W kept in step by its update, heavy-ball's
    previous weights, an initial copy kept for a reset), which fresh weights written into the
    parameter alone would leave stale."""
    arrays = {id(v): v for _, _, v, _ in entries if isinstance(v, np.ndarray) and v.size > 1}
    out = []
    for i, p in enumerate(params):
        if not isinstance(p, np.ndarray) or p.size < 2 or np.ptp(p) == 0:
            continue
        for v in arrays.values():
            if v is p or np.may_share_memory(v, p) or not v.flags.writeable:
                continue
            if v.shape == p.shape and np.array_equal(v, p):
                out.append((i, v, False))
            elif v.shape == p.T.shape and np.array_equal(v, p.T):
                out.append((i, v, True))
    return out


def put_synced(root: Any, paths: list[str], functions: tuple, arrays: list[Any]) -> int:
    """Write ``arrays`` at ``paths`` below ``root`` (the learner's layout) and the same values
    into each copy the learner's state (``root`` and its ``functions``) holds of them: fresh
    weights consistent everywhere. The copies' count."""
    from .paths import get, put

    found = weight_copies(snapshot(root, *functions), [get(root, p) for p in paths])
    for p, a in zip(paths, arrays, strict=True):
        put(root, p, np.asarray(a))
    for i, v, t in found:
        new = np.asarray(get(root, paths[i]))
        v[...] = new.T if t else new
    return len(found)
