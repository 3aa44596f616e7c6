"""Whether two runs of one step from the same weights and data gave the same numbers."""

from __future__ import annotations

import numpy as np

Array = np.ndarray
REPEAT_ULPS = 256  # two runs of one step may part by this many spacings of the dtype
FORWARD_FIX = (  # a forward pass that parts from itself
    "a forward pass (predict) draws no random numbers: switch dropout off at inference "
    "(train=False, mode='test'), or seed it while checking"
)
REPEAT_FIX = (  # the fix of a step whose two runs part: random draws, or an order that varies
    "seed every random draw (dropout, shuffling) or remove it while checking; the comparison "
    "needs repeatable numbers; if nothing is random, an order that changes between runs "
    "decides your numbers: a loop over a set of objects (a topological sort built on set()) "
    "is one, and with += every order gives the same sum, while = where += belongs keeps "
    "whichever write came last"
)


def differs(
    a: dict[str, Array],
    b: dict[str, Array],
    dtype: str | dict[str, str] = "float64",
    base: dict | None = None,
) -> str | None:
    """The first name whose arrays differ beyond the round-off of a sum taken in another order
    in the dtype it is held in (``dtype``: one for all, or name -> dtype): ``REPEAT_ULPS``
    spacings of it, relative to each element and to the largest element of all (a float32
    sum over a shuffled order parts by a few of them, a random draw by far more); NaN equals
    NaN. With ``base`` (the weights before the step) ``a`` and ``b`` are post-step weights:
    held so on the steps they took, beside two spacings of their own storage."""
    moved = b if base is None else {k: np.subtract(b[k], base[k]) for k in b}
    top = max((float(np.abs(v).max(initial=0.0)) for v in moved.values() if np.size(v)), default=0)
    top = top if np.isfinite(top) else 0.0
    for k in a:
        dt = dtype.get(k, "float64") if isinstance(dtype, dict) else dtype
        eps = float(np.finfo(dt).eps)
        tol = min(max(1e-12, REPEAT_ULPS * eps), 1e-2)
        rtol = tol if base is None else max(1e-12, 2 * eps)
        if not np.allclose(a[k], b[k], rtol=rtol, atol=tol * top, equal_nan=True):
            return k
    return None


def narrowest(held: dict[str, str], store: dict[str, str]) -> dict[str, str]:
    """Each array's dtype for the repeat's round-off: the narrower of the one it came in and
    its weight's storage (a float32 learner's gradients may be read in as float64)."""
    return {k: min(held.get(k, d), d, key=lambda n: np.dtype(n).itemsize) for k, d in store.items()}
