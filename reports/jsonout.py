"""Strict JSON for the command line: JSON has no NaN or Infinity, so non-finite numbers are
written as the strings "nan", "inf" and "-inf" (what ``float()`` reads back); NumPy scalars as
plain numbers."""

from __future__ import annotations

import json
import math
from typing import Any


def clean(x: Any) -> Any:
    """``x`` with every non-finite float replaced by its string, recursively."""
    if hasattr(x, "item") and not isinstance(x, (list, tuple, dict)):  # NumPy scalar
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    if isinstance(x, dict):
        return {k: clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [clean(v) for v in x]
    return x


def dumps(x: Any, indent: int = 1) -> str:
    """Strict JSON text of ``x`` (``allow_nan=False`` holds after ``clean``)."""
    return json.dumps(clean(x), indent=indent, allow_nan=False)
