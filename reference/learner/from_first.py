"""The learner run again from its state before step 1, as the probes after the steps do."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def from_first(runner: Any) -> Iterator[None]:
    """The block run from ``runner``'s learner as it was before step 1 (``runner.first``), its
    state put back after."""
    a = runner.a
    now = a.keep(pin=True)
    try:
        a.restore(runner.first)
        yield
    finally:
        a.restore(runner.first)
        a.restore(now)
