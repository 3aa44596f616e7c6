"""``gradient_accumulation`` (LEARNER_BUGS.md 16): gradients added into buffers (``dW += ...``)
that nothing resets between backward passes, PyTorch's missing ``zero_grad``.

The learner's gradient at call k is then the sum of the true gradients of calls 1..k. Two
signatures: a second backward pass at the same weights and data returns the first one's
result plus what the buffers already held (twice the gradient for one call per pass), which
``Runner``'s determinism probe must not call nondeterminism; and over the steps compared, the
learner's gradient at step k equals sum_{j<k} calls_j * g_R(j) + g_R(k), with g_R(j) PyTorch's
gradient at the learner's weights of step j and calls_j the backward passes run at step j.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .result import Finding

if TYPE_CHECKING:
    from .codec import Codec

Array = np.ndarray
RTOL = 1e-6
HINT = (
    "zero dW/db before each backward pass: assign the gradient (self.dW = a_prev.T @ dz), "
    "never add into it (+=), or reset the buffers to zeros at the start of backward "
    "(what PyTorch's optimizer.zero_grad() does)"
)


def close(a: dict[str, Array], b: dict[str, Array], rtol: float = RTOL) -> bool:
    """Every array of ``a`` equals ``b``'s within ``rtol`` of the largest magnitude."""
    for k in a:
        x, y = np.asarray(a[k], dtype=np.float64), np.asarray(b[k], dtype=np.float64)
        scale = max(float(np.abs(y).max(initial=0.0)), 1e-300)
        if x.shape != y.shape or not np.allclose(x, y, rtol=0, atol=rtol * scale):
            return False
    return True


def doubled(first: dict[str, Array], again: dict[str, Array], held: dict[str, Array]) -> bool:
    """Whether a second pass at the same weights returned ``first + held`` (``held``: what
    the buffers held after the first pass), with ``held`` not zero."""
    if not any(np.abs(v).max(initial=0.0) > 0 for v in held.values()):
        return False
    return close(again, {k: first[k] + held[k] for k in first})


def twice_finding(step: int, what: str, names: tuple[str, ...], ratio: float = 2.0) -> Finding:
    """The finding when the determinism probe saw the accumulation pattern."""
    return Finding(
        "gradient_accumulation",
        names,
        None,
        step,
        f"{what} a second time from the same weights and data at step {step} gives the first "
        f"result plus what your gradient buffers already held ({ratio:g} times the gradient "
        "for one backward pass): your gradients are added into buffers that nothing resets "
        "between passes, so every step's gradient is the sum of all earlier ones",
        HINT,
    )


def explain(history: list, failing: dict[str, int], codec: Codec) -> list[Finding]:
    """``gradient_accumulation`` when the learner's gradients at the failing steps are the
    running sums of PyTorch's over its backward passes (see the module); else []."""
    obs = [h[0] for h in history]
    if not obs or any(o.grads is None for o in obs) or len(obs) < 2:
        return []
    first = min(failing.values())
    upto = [h for h in history if h[0].step <= first + 2]
    total: dict[str, Array] = {}
    explained = False
    for o, rs, _ in upto:
        pred = {k: total.get(k, 0.0) + rs.grads[k] for k in o.grads}
        if not close(o.grads, pred, max(RTOL, _noise(o))):
            return []
        if o.step >= first:
            explained = True
        for k in o.grads:
            total[k] = total.get(k, 0.0) + o.calls * rs.grads[k]
    if not explained:
        return []
    names = codec.labels(list(failing))
    return [
        Finding(
            "gradient_accumulation",
            names,
            None,
            first,
            f"your gradients at steps 1-{upto[-1][0].step} equal the running sum of PyTorch's "
            "gradients over all your backward passes so far (step k: the true gradients of "
            "steps 1..k added up): your gradient buffers are never reset between passes",
            HINT,
        )
    ]


def _noise(o) -> float:
    """The relative round-off of implied gradients (style c), as a fraction of their size."""
    if not o.noise:
        return 0.0
    size = max(float(np.abs(g).max(initial=0.0)) for g in o.grads.values()) or 1.0
    return max(o.noise.values()) / size
