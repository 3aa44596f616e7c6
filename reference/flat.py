"""Pairs of arrays (actual, expected) flattened into one float64 array per side, with what the
comparisons read from them (|A - E|, |E|, where each pair starts): made once a step and shared by
the rtol screen and the one-pass comparison (``compare.compare_flat``)."""

from __future__ import annotations

from itertools import accumulate
from operator import is_
from typing import Any, NamedTuple

import numpy as np


class Flat(NamedTuple):
    """Pairs of arrays (actual, expected) and all their elements in one float64 array each,
    ``D = |A - E|`` and ``AE = |E|``; ``starts`` (and ``starts_l``) where each pair's elements
    begin, ``segment`` the pair each element belongs to. Read only."""

    arrays: list[tuple[np.ndarray, np.ndarray]]
    sizes: list[int]
    A: np.ndarray
    E: np.ndarray
    sources: tuple = ()  # the objects given, actual and expected in turn (``is_flat_of``)
    shapes: tuple = ()
    starts: np.ndarray = np.zeros(0, np.intp)
    starts_l: tuple = ()
    segment: np.ndarray = np.zeros(0, np.intp)
    D: np.ndarray = np.zeros(0)
    AE: np.ndarray = np.zeros(0)


def flatten(pairs: list[tuple[Any, Any]]) -> Flat | None:
    """The pairs' elements concatenated (C order), or None if a pair's shapes differ, a pair is
    empty or there is none."""
    arrays, As, Es, sources, shapes, sizes = [], [], [], [], [], []
    for a, e in pairs:
        sources += (a, e)
        a, e = np.asarray(a), np.asarray(e)
        sh, n = a.shape, a.size
        if sh != e.shape or n == 0:
            return None
        arrays.append((a, e))
        As.append(a.ravel())
        Es.append(e.ravel())
        shapes.append(sh)
        sizes.append(n)
    if not arrays:
        return None
    A, E = np.concatenate(As, dtype=np.float64), np.concatenate(Es, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf: NaN, found by its users
        D = np.subtract(A, E)
    np.abs(D, out=D)
    starts_l = (0, *accumulate(sizes[:-1]))
    starts = np.array(starts_l, np.intp)
    segment = np.repeat(np.arange(len(sizes)), sizes)
    return Flat(arrays, sizes, A, E, tuple(sources), tuple(shapes), starts, starts_l, segment, D,
                np.abs(E))  # fmt: skip


def is_flat_of(flat: Flat, items: list[tuple]) -> bool:
    """Whether ``flat`` was made from these items' (actual, expected): the same arrays, or for
    a scalar (a loss, a step count) the same value."""
    if len(flat.arrays) != len(items):
        return False
    src = flat.sources
    if len(src) == 2 * len(items) and all(map(is_, src, [x for it in items for x in it[2:4]])):
        return True  # the very objects (what the engine passes): no element to look at
    for pair, it in zip(flat.arrays, items, strict=True):
        for arr, x in zip(pair, it[2:4], strict=True):
            if arr is not x and not (arr.ndim == 0 and np.ndim(x) == 0 and _same(arr, x)):
                return False
    return True


def _same(a: Any, b: Any) -> bool:
    return bool(a == b or (a != a and b != b))  # NaN is NaN here
