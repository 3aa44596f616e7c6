"""One-dimensional minimisation for the fitted values of the diagnosis (an eps, a beta, a clip
bound): golden-section search on a bracket."""

from __future__ import annotations

import math
from collections.abc import Callable


def golden(
    f: Callable[..., float], a: float, b: float, steps: int, *, bounded: bool = False
) -> tuple[float, float]:
    """(x, f(x)): golden-section search for the least ``f`` on [a, b]. ``bounded``: ``f(x,
    stop)`` may stop once its value is past ``stop`` and return any value above it; each new
    point is evaluated up to the point it is compared with, which it replaces only when not
    above it, so a point cut short is always dropped and the search ends where the whole
    evaluations would."""
    r = (math.sqrt(5) - 1) / 2
    g = f if bounded else (lambda x, _stop: f(x))
    c, d = b - r * (b - a), a + r * (b - a)
    fc = g(c, math.inf)
    fd = g(d, fc)
    for _ in range(steps):
        if fc <= fd:
            b, d, fd = d, c, fc
            c = b - r * (b - a)
            fc = g(c, fd)
        else:
            a, c, fc = c, d, fd
            d = a + r * (b - a)
            fd = g(d, fc)
    return (c, fc) if fc <= fd else (d, fd)


def golden_at(
    f_at: Callable[[list[float]], list[float]], a: float, b: float, steps: int, depth: int = 4
) -> tuple[float, float]:
    """``golden(f, a, b, steps)`` with ``f_at(xs) == [f(x) for x in xs]`` evaluating many
    points in one call: every point that the next ``depth`` steps may ask for (both branches
    of each, 2^(depth + 1) - 2 points) at once, then the walk down the branches the values
    pick. The same points and comparisons as ``golden``: the same result, in steps / depth
    calls instead of steps."""
    r = (math.sqrt(5) - 1) / 2
    c, d = b - r * (b - a), a + r * (b - a)
    fc, fd = f_at([c, d])
    done = 0
    while done < steps:
        k = min(depth, steps - done)
        rows, level = [], [(a, b, c, d)]  # per step: each state's two successors
        for _ in range(k):
            row = []
            for a_, b_, c_, d_ in level:
                left = (a_, d_, d_ - r * (d_ - a_), c_)  # fc <= fd: b, d = d, c; new c
                right = (c_, b_, d_, c_ + r * (b_ - c_))  # else: a, c = c, d; new d
                row.append((left, right))
            rows.append(row)
            level = [s for pair in row for s in pair]
        points = [x for row in rows for left, right in row for x in (left[2], right[3])]
        values = iter(f_at(points))
        at = 0
        for row in rows:
            got = [(next(values), next(values)) for _ in row]
            (left, right), (f_left, f_right) = row[at], got[at]
            if fc <= fd:
                (a, b, c, d), fd, fc, at = left, fc, f_left, 2 * at
            else:
                (a, b, c, d), fc, fd, at = right, fd, f_right, 2 * at + 1
        done += k
    return (c, fc) if fc <= fd else (d, fd)
