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

from typing import TYPE_CHECKING, Any

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
    return all(close_one(a[k], b[k], rtol) for k in a)


def close_one(x: Any, y: Any, rtol: float = RTOL) -> bool:
    """``x`` equals ``y`` within ``rtol`` of ``y``'s largest magnitude."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.shape != y.shape:
        return False
    if not (np.isfinite(x).all() and np.isfinite(y).all()):  # (numpy would warn of a nan
        return bool(np.array_equal(x, y, equal_nan=True))  # atol in the learner's name)
    scale = max(float(np.abs(y).max(initial=0.0)), 1e-300)
    return bool(np.allclose(x, y, rtol=0, atol=rtol * scale))


def doubled(
    first: dict[str, Array], again: dict[str, Array], held: dict[str, Array]
) -> tuple[str, ...]:
    """The arrays that accumulate: a second pass at the same weights returned ``first +
    held[k]`` for each of them (``held``: what the buffers held after the first pass, not
    zero there) and ``first`` for every other one. () when that is not the pattern (some
    array is neither, or none accumulates): any subset of buffers may be the unreset ones."""
    acc = []
    for k in first:
        h = held.get(k)
        if h is not None and np.abs(h).max(initial=0.0) > 0:
            if close_one(again[k], first[k] + h) and not close_one(again[k], first[k]):
                acc.append(k)
                continue
        if not close_one(again[k], first[k], 1e-12):
            return ()
    return tuple(acc)


def twice_finding(step: int, what: str, names: tuple[str, ...], ratio: float = 2.0) -> Finding:
    """The finding when the determinism probe saw the accumulation pattern in ``names``."""
    return Finding(
        "gradient_accumulation",
        names,
        None,
        step,
        f"{what} a second time from the same weights and data at step {step} gives the first "
        f"result plus what your gradient buffers of {', '.join(names)} already held "
        f"({ratio:g} times the gradient for one backward pass): those gradients are added "
        "into buffers that nothing resets between passes, so every step's gradient there is "
        "the sum of all earlier ones",
        HINT,
    )


def explain(history: list, failing: dict[str, int], codec: Codec) -> list[Finding]:
    """``gradient_accumulation`` when the learner's gradients at the failing steps are, for
    every failing array, the running sums of PyTorch's over its backward passes, and for every
    other array PyTorch's own (see the module): any subset of buffers may accumulate; else
    []."""
    obs = [h[0] for h in history]
    if not obs or any(o.grads is None for o in obs) or len(obs) < 2:
        return []
    first = min(failing.values())
    upto = [h for h in history if h[0].step <= first + 2]
    if upto[-1][0].step <= first:
        return []
    stepped = all(o.after is not None for o, _, _ in upto)  # a step of its own may backprop
    for extra, rows in [(e, r) for e in ((0, 1) if stepped else (0,)) for r in (False, True)]:
        acc, summed = _running(upto, extra, rows)
        if acc and set(failing) <= set(acc):
            break
    else:
        return []
    names = codec.labels(acc)
    some = "" if len(acc) == len(summed) else f" (only {', '.join(names)}; the others are reset)"
    if extra:
        some += " (your step runs a backward pass of its own: two per step)"
    if rows:  # Nielsen's nabla_w summed per sample, divided by this batch's size at the update
        some += " (summed per sample and divided by each step's own batch size)"
    return [
        Finding(
            "gradient_accumulation",
            names,
            None,
            first,
            f"your gradients at steps 1-{upto[-1][0].step} equal the running sum of PyTorch's "
            "gradients over all your backward passes so far (step k: the true gradients of "
            f"steps 1..k added up){some}: those gradient buffers are never reset between "
            "passes",
            HINT,
        )
    ]


def _running(upto: list, extra: int, rows: bool = False) -> tuple[list[str], dict]:
    """The arrays whose gradients are the running sums over the backward passes (``extra``
    more per step than the checker ran: a step that runs its own), with every other array
    PyTorch's own; ([], ...) when some array is neither. ``rows``: sums of per-sample
    gradients divided by each step's own batch size (review s55 F2: Nielsen's unreset
    nabla_w over batches of 6, 6 and 4)."""
    total: dict[str, Array] = {}
    summed = dict.fromkeys(upto[0][0].grads, True)  # consistent with the running sum so far
    plain = dict.fromkeys(upto[0][0].grads, True)  # consistent with PyTorch's own gradient
    for o, rs, _ in upto:
        tol = max(RTOL, _noise(o))
        n = len(o.rows) if rows else 1
        for k in o.grads:
            want = (total.get(k, 0.0) + n * rs.grads[k]) / n
            summed[k] = summed[k] and close_one(o.grads[k], want, tol)
            plain[k] = plain[k] and close_one(o.grads[k], rs.grads[k], tol)
            total[k] = total.get(k, 0.0) + (o.calls + extra) * n * rs.grads[k]
    acc = [k for k in summed if summed[k] and not plain[k]]
    if not all(summed[k] or plain[k] for k in summed):
        return [], summed
    return acc, summed


def _noise(o) -> float:
    """The relative round-off of implied gradients (style c), as a fraction of their size."""
    if not o.noise:
        return 0.0
    size = max(float(np.abs(g).max(initial=0.0)) for g in o.grads.values()) or 1.0
    return max(o.noise.values()) / size


def accumulated(
    G: dict, prev: dict | None, twin: dict, bad: list, labels: dict[str, str], k: int
) -> list[Finding]:
    """``gradient_accumulation`` when every gradient that parts at step k is the learner's
    gradient of the step before plus PyTorch's of this one (buffers added into, never reset),
    and the loss agrees; [] otherwise."""
    parts = [r.tensor for r in bad if r.stage == "grad"]
    if prev is None or not parts or any(r.stage not in ("grad", "buffers") for r in bad):
        return []
    if not all(close_one(G[n], prev[n] + twin[n]) for n in parts):
        return []
    names = tuple(labels.get(n, n) for n in parts)
    return [
        Finding(
            "gradient_accumulation",
            names,
            None,
            k,
            f"your gradients of {', '.join(names)} at step {k} are your gradients of the step "
            "before plus PyTorch's of this one: those buffers are added into (+=) and never "
            "reset between passes",
            HINT,
        )
    ]
