"""JAX's 64-bit switch, scoped to nnparity's own calls.

``jax.config.update("jax_enable_x64", True)`` is process-wide and would change every JAX
computation of the user's program (float64 NumPy inputs stay float64, default dtypes widen).
``precision(dtype)`` uses JAX's own context manager instead: x64 is on inside for 'float64' and
off for 'float32', and the caller's setting is back on exit (also after an exception).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import jax


@contextmanager
def precision(dtype: str) -> Iterator[None]:
    """Run the block with ``jax_enable_x64 = (dtype == 'float64')``; restore it afterwards."""
    with jax.enable_x64(dtype == "float64"):
        yield
