"""JAX as a second reference (the optional extra ``nnparity[jax]``): a JAX twin of every spec,
and ``triangulate``, which runs scratch, PyTorch and JAX from the same weights and data and names
the odd one out.

64-bit: JAX computes in float32 unless ``jax_enable_x64`` is on. Nothing here flips that switch
for the process: every JAX computation runs inside ``precision(spec.dtype)``, a context that turns
x64 on for float64 specs (off for float32 ones) and restores the caller's setting on exit.
"""

from __future__ import annotations

try:
    import jax as _jax  # noqa: F401
    import optax as _optax  # noqa: F401
except ImportError as e:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        f"jax is not installed (pip install nnparity[jax]): {e.msg}; the JAX reference needs "
        "jax and optax"
    ) from e

from .runtime import precision
from .triangulate import Triangulation, triangulate
from .twin import JaxTwin
from .variants import jax_activations, jax_losses, jax_optimizers

__all__ = [
    "JaxTwin",
    "Triangulation",
    "jax_activations",
    "jax_losses",
    "jax_optimizers",
    "precision",
    "triangulate",
]
