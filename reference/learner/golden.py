"""One-dimensional minimisation for the fitted values of the diagnosis (an eps, a beta, a clip
bound): golden-section search on a bracket."""

from __future__ import annotations

import math
from collections.abc import Callable


def golden(f: Callable[[float], float], a: float, b: float, steps: int) -> tuple[float, float]:
    """(x, f(x)): golden-section search for the least ``f`` on [a, b]."""
    r = (math.sqrt(5) - 1) / 2
    c, d = b - r * (b - a), a + r * (b - a)
    fc, fd = f(c), f(d)
    for _ in range(steps):
        if fc <= fd:
            b, d, fd = d, c, fc
            c = b - r * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + r * (b - a)
            fd = f(d)
    return (c, fc) if fc <= fd else (d, fd)
