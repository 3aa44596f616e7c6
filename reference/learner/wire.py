"""The wire between the checker and the learner's server (``serve``): messages of plain data.

A message is an 8-byte length, a JSON header and the raw bytes of the arrays it carries, each
described in the header by a dtype string (``<f8``, ``|b1``: numeric kinds only) and a shape;
nothing is ever pickled, so a message can carry data but never code. Structures encode as JSON
with markers: ``{"a": i}`` array ``i``, ``{"s": i}`` a NumPy scalar (array ``i``, 0-d),
``{"t": [...]}`` a tuple, ``{"d": [[key, value], ...]}`` a dict or mapping (keys keep their
type), ``{"h": [id, type name]}`` a handle: an object that cannot cross (a layer's cache, an
object the learner returned), kept by the side that made it and given back by its id.
"""

from __future__ import annotations

import json
import os
import re
import struct
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

MAX_DEPTH = 64  # nesting kept in a structure; deeper parts cross as handles
MAX_HEADER = 2**28  # bytes of JSON in one message
_DTYPE = re.compile(r"^[<>|=][biufc]\d{1,2}$")
_LEN = struct.Struct("<Q")


class WireError(Exception):
    """A message that does not follow the format (a torn pipe, a foreign writer)."""


class Handle:
    """An object kept on the other side, known here by its id and its type's name."""

    def __init__(self, ident: int, kind: str):
        self.ident, self.kind = ident, kind

    def __repr__(self) -> str:
        return f"<{self.kind} object>"


def encode(x: Any, arrays: list[np.ndarray], keep: Callable[[Any], int] | None, depth: int = 0):
    """``x`` as JSON-able data, its arrays appended to ``arrays``; an object that cannot cross
    becomes a handle from ``keep`` (None: a ``WireError``)."""
    if x is None or isinstance(x, bool | str) or type(x) in (int, float):
        return x
    if isinstance(x, Handle):  # given back to the side that keeps it
        return {"h": [x.ident, x.kind]}
    if depth < MAX_DEPTH:
        if isinstance(x, np.ndarray) and x.dtype.kind in "biufc":
            a = np.asarray(x)  # a subclass (np.matrix) crosses as its data
            arrays.append(a if a.flags.c_contiguous else a.copy(order="C"))  # 0-d stays 0-d
            return {"a": len(arrays) - 1}
        if isinstance(x, np.generic) and x.dtype.kind in "biufc":
            arrays.append(np.asarray(x).reshape(()))
            return {"s": len(arrays) - 1}
        if isinstance(x, int | float) and not isinstance(x, np.generic):
            return int(x) if isinstance(x, int) else float(x)
        if isinstance(x, list):
            return [encode(v, arrays, keep, depth + 1) for v in x]
        if isinstance(x, tuple):
            return {"t": [encode(v, arrays, keep, depth + 1) for v in x]}
        if isinstance(x, Mapping):
            return {
                "d": [
                    [encode(k, arrays, keep, depth + 1), encode(v, arrays, keep, depth + 1)]
                    for k, v in x.items()
                ]
            }
    if keep is None:
        raise WireError(f"a {type(x).__name__} cannot cross to the learner's process")
    return {"h": [keep(x), type(x).__name__]}


def decode(x: Any, arrays: list[np.ndarray], lookup: Callable[[int], Any] | None) -> Any:
    """The structure ``encode`` gave; handles resolved by ``lookup`` (None: kept as
    ``Handle``)."""
    if isinstance(x, list):
        return [decode(v, arrays, lookup) for v in x]
    if not isinstance(x, dict):
        return x
    ((kind, v),) = x.items()
    if kind == "a":
        return arrays[v]
    if kind == "s":
        return arrays[v][()]
    if kind == "t":
        return tuple(decode(e, arrays, lookup) for e in v)
    if kind == "d":
        return {_key(decode(k, arrays, lookup)): decode(e, arrays, lookup) for k, e in v}
    if kind == "h":
        return lookup(int(v[0])) if lookup is not None else _handle(int(v[0]), str(v[1]))
    raise WireError(f"unknown marker {kind!r}")


_HANDLES: dict[str, type] = {}


def _handle(ident: int, kind: str) -> Handle:
    """A ``Handle`` whose type bears the name of the object's type (what a message names)."""
    name = kind if kind.isidentifier() else "object"
    return _HANDLES.setdefault(name, type(name, (Handle,), {}))(ident, kind)


def _key(k: Any) -> Any:
    return k.item() if isinstance(k, np.generic) else k if not isinstance(k, list) else tuple(k)


def send(fd: int, header: dict, arrays: list[np.ndarray] = ()) -> None:  # type: ignore[assignment]
    """Write one message to ``fd``."""
    header = dict(header, arrays=[[a.dtype.str, list(a.shape)] for a in arrays])
    head = json.dumps(header).encode()
    parts = [
        _LEN.pack(len(head)),
        head,
        *(memoryview(a.reshape(-1).view(np.uint8)) for a in arrays if a.size),
    ]
    for p in parts:
        view = memoryview(p)
        while view:
            view = view[os.write(fd, view) :]


def recv(fd: int) -> tuple[dict, list[np.ndarray]] | None:
    """One message from ``fd``: (header, arrays), or None at the end of the stream."""
    raw = _read(fd, _LEN.size, eof_ok=True)
    if raw is None:
        return None
    size = _LEN.unpack(raw)[0]
    if size > MAX_HEADER:
        raise WireError(f"a header of {size} bytes")
    header = json.loads(_read(fd, size))
    if not isinstance(header, dict):
        raise WireError("a header that is not a JSON object")
    arrays = []
    for dtype, shape in header.pop("arrays", []):
        if not (isinstance(dtype, str) and _DTYPE.match(dtype)):
            raise WireError(f"dtype {dtype!r} cannot cross")
        dt = np.dtype(dtype)
        n = int(np.prod(shape, dtype=np.int64)) * dt.itemsize
        buf = bytearray(_read(fd, n)) if n else bytearray()
        arrays.append(np.frombuffer(buf, dtype=dt).reshape(shape))
    return header, arrays


def _read(fd: int, n: int, eof_ok: bool = False) -> bytes | None:
    chunks, left = [], n
    while left:
        b = os.read(fd, min(left, 1 << 20))
        if not b:
            if eof_ok and left == n:
                return None
            raise WireError("the stream ended inside a message")
        chunks.append(b)
        left -= len(b)
    return b"".join(chunks)
