"""A step whose update runs before its backward pass (forward, update, backward): it applies
the gradients the previous call left, zeros at step 1 (review s30a F5: said as "updated other
arrays than the ones named"). Where nothing moved at step 1 and step 2's move is the declared
optimizer's second step, after a first one from zero gradients, from step 1's gradients
(PyTorch's, at step 1's weights and rows), the update is one call late."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .codec import canonical_key
from .evidence import to_tensors
from .optim_variants import Sim
from .result import Finding

if TYPE_CHECKING:
    from nnparity.scratch import Spec

    from .codec import Codec


def stale_update(
    history: list, spec: Spec, codec: Codec, atol: float, rtol: float
) -> Finding | None:
    """``update_before_backward`` (see the module), or None."""
    if len(history) < 2 or history[0][0].step != 1 or history[1][0].step != 2:
        return None
    (o1, r1, _), (o2, _, _) = history[0], history[1]
    if o1.after is None or o2.after is None:
        return None
    P, A = to_tensors(o2.params), to_tensors(o2.after)
    sim, G = Sim(spec.opt.name, dict(spec.opt.kwargs)), to_tensors(r1.grads)
    sim.step(to_tensors(o1.params), {k: 0 * g for k, g in G.items()})  # step 1: zeros (t = 1)
    Q = sim.step(P, G)  # step 2: step 1's gradients
    for k, q in Q.items():
        if k not in A:
            continue
        moved = max(float((q - P[k]).abs().max()), 1e-300)
        if not bool(((A[k] - q).abs() <= atol * moved + rtol * q.abs()).all()):
            return None
    return Finding(
        "update_before_backward",
        codec.labels(sorted(A, key=canonical_key)),
        None,
        1,
        "your step applies the gradients of the call before it: nothing moved at step 1, and "
        "step 2 took the declared step from step 1's gradients (at step 1's weights and rows): "
        "the update runs before the backward pass that computes this call's gradients (or "
        "reads gradient buffers the backward fills after it), or it moves the weights by its "
        "state (a velocity, Adam's moments) before adding this call's gradient to that state",
        "in your step, run forward, then backward, then the update, so that each update uses "
        "the gradients just computed; within the update, fold the gradient into the state "
        "first, then move the weights by it (v = mu * v - lr * g; w += v, not w += v; v = ...)",
    )
