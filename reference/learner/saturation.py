"""A step at saturated outputs: a program whose backward divides by a or 1 - a (the chain
rule written through BCE's -y/a + (1 - y)/(1 - a)) agrees with PyTorch until its sigmoid
rounds to exactly 1, which a long run on separable data reaches (review s30b F1: NaN at step
2027, 300 steps watched, said `match`). Once, after a run in which everything agreed, one step
runs from the learner's state before step 1 at its starting weights with the last layer
scaled so that the largest output pre-activation on the data is ``SAT_Z`` (sigmoid(40) is
1.0 in float64, sigmoid(20) in float32); a step that goes NaN or Inf there where PyTorch's
stays finite is said as a latent instability."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from .instability import first_nonfinite, nonfinite_finding
from .result import Finding
from .runner import LearnerCrash, Runner

if TYPE_CHECKING:
    from .adapters import Adapter
    from .codec import Codec
    from .torch_side import Reference

SAT_Z = {"float64": 40.0, "float32": 20.0, "float16": 10.0}


def saturated_step(
    adapter: Adapter,
    runner: Runner,
    ref: Reference,
    codec: Codec,
    P0: dict[str, np.ndarray],
    X: np.ndarray,
    y: np.ndarray,
    batches: list,
    tols: Any,
    run_steps: Callable[..., Any],
) -> Finding | None:
    """The ``nonfinite_at_saturation`` finding of one step at saturated outputs (see the
    module), or None; the learner's state is put back either way."""
    spec = ref.spec
    if runner.first is None or adapter.style == "forward" or spec.layered:
        return None
    L = len(spec.sizes) - 1
    zL = np.abs(ref.run(P0, X, y).z[-1].numpy())
    top = float(zL.max(initial=0.0))
    if not np.isfinite(top) or top <= 0.0:
        return None
    s = SAT_Z[codec.precision] / top
    if s <= 1.0:  # already saturated on the steps checked
        return None
    Q = {k: v * s if k in (f"W{L}", f"b{L}") else v for k, v in P0.items()}
    now = adapter.keep(pin=True)
    try:
        adapter.restore(runner.first)
        adapter.write(Q)
        again = Runner(adapter, runner.X, runner.y)
        run = run_steps(adapter, again, ref, codec, X, y, batches[:1], 1, 0, tols)
    except (LearnerCrash, ArithmeticError, ValueError):
        return None
    finally:
        adapter.restore(runner.first)
        adapter.restore(now)
    if run.nan_step != 1 or not run.history:
        return None
    obs, rs, _ = run.history[0]
    twin_finite = np.isfinite(rs.loss) and all(np.isfinite(g).all() for g in rs.grads.values())
    what = first_nonfinite(obs, codec, rs)
    if not twin_finite or what is None:
        return None
    f = nonfinite_finding(obs, what, rs, spec, codec, again.warning, "")
    said = f.evidence.replace(" at step 1 (the first step)", "").rstrip("; ")
    return replace(
        f,
        code="nonfinite_at_saturation",
        step=None,
        evidence=f"every step checked agreed, but at your starting weights with the last "
        f"layer scaled x{s:.3g} (the largest output pre-activation {SAT_Z[codec.precision]:g}, "
        "where a sigmoid rounds to exactly 1: a state a long run reaches on separable data or "
        f"at a large learning rate) {said[0].lower()}{said[1:]}",
    )
