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
