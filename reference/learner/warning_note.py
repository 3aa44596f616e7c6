"""The RuntimeWarnings a learner's call raised, kept as evidence for a nonfinite finding: the
run's first, and at its step the first one after it that makes a NaN or Inf itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .serve import MAKES_NAN


def noted(held: tuple[int, str] | None, step: int, w: Any) -> tuple[int, str] | None:
    """The warning evidence after RuntimeWarning ``w`` of ``step``: the run's first warning,
    and where that one only overflowed, the first at its step that makes a NaN or Inf itself
    (0/0, inf/inf, x/0) after it, "; then ...": 1 / (1 + exp(-z)) overflows harmlessly on its
    way to 0, and the line that divides inf by inf is where the NaN is made (review s19b,
    n10); a naive softmax's exp overflow, then its division, are both said."""
    text = f"RuntimeWarning '{w.message}' at {Path(w.filename).name}:{w.lineno}"
    text += _source(w.filename, w.lineno)
    if held is None:
        return step, text
    made = any(m in str(w.message) for m in MAKES_NAN)
    if held[0] != step or not made or any(m in held[1] for m in MAKES_NAN):
        return held
    return step, f"{held[1]}; then {text}"


def _source(filename: str, lineno: int) -> str:
    import linecache

    line = linecache.getline(filename, lineno).strip()
    return f": `{line}`" if line else ""
