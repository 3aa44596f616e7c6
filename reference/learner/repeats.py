"""Whether two runs of one step from the same weights and data gave the same numbers."""

from __future__ import annotations

import numpy as np

Array = np.ndarray
REPEAT_ULPS = 256  # two runs of one step may part by this many spacings of the dtype


def differs(
    a: dict[str, Array], b: dict[str, Array], dtype: str = "float64", base: dict | None = None
) -> str | None:
    """The first name whose arrays differ beyond the round-off of a sum taken in another order
    in ``dtype`` (the learner's narrowest): ``REPEAT_ULPS`` spacings of it, relative to each
    element and to the largest element of all (a float32 sum over a shuffled order parts by
    a few of them, a random draw by far more); NaN equals NaN. With ``base`` (the weights
    before the step) ``a`` and ``b`` are post-step weights: held so on the steps they took,
    beside two spacings of their own storage."""
    eps = float(np.finfo(dtype).eps)
    tol = min(max(1e-12, REPEAT_ULPS * eps), 1e-2)
    moved = b if base is None else {k: np.subtract(b[k], base[k]) for k in b}
    rtol = tol if base is None else max(1e-12, 2 * eps)
    top = max((float(np.abs(v).max(initial=0.0)) for v in moved.values() if np.size(v)), default=0)
    top = top if np.isfinite(top) else 0.0
    return next(
        (k for k in a if not np.allclose(a[k], b[k], rtol=rtol, atol=tol * top, equal_nan=True)),
        None,
    )
