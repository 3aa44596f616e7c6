"""Steps at fresh weights: where the learner's data and weights keep every unit on one side of a
kink for all the steps checked (inputs in [0, 1] and weights from ``rand``: no z below 0 for
600 steps), a slip in a derivative's other branch never shows; at scratch's initialisation
(weights of both signs) it does. Once, after a run in which everything agreed, the first
``FRESH_STEPS`` steps run again from the learner's state before step 1 with fresh weights
written in. Only a named bug of a class that depends on where the units sit is said: a copy of
W the learner keeps beside its weights (re-synced by its own update) parts here without being
a bug, and a float16 Adam whose v underflows at the fresh weights' small gradients reads as
another eps there, a precision its own weights never reach."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from nnparity.scratch import build

from .explain import diagnose
from .result import Finding
from .runner import LearnerCrash, Runner

if TYPE_CHECKING:
    from .adapters import Adapter
    from .codec import Codec
    from .torch_side import Reference

FRESH_STEPS = 2
SEED = 1
NAMED = ("wrong_activation_derivative", "wrong_activation", "derivative_of_output")


def fresh_steps(
    adapter: Adapter,
    runner: Runner,
    ref: Reference,
    codec: Codec,
    X: np.ndarray,
    y: np.ndarray,
    batches: list,
    tols: Any,
    run_steps: Callable[..., Any],
) -> list[Finding]:
    """The named finding of ``FRESH_STEPS`` steps from the learner's state before step 1 at
    fresh weights (``run_steps``: the checker's step loop), or none; the learner's state is
    put back either way."""
    if runner.first is None or adapter.style == "forward":
        return []
    Q = build(ref.spec).init_params(seed=SEED)
    Q.update({k: np.zeros_like(Q[k]) for k in codec.frozen})
    now = adapter.keep(pin=True)  # (the run below keeps snapshots of its own)
    try:
        adapter.restore(runner.first)
        adapter.write(Q)
        again = Runner(adapter, runner.X, runner.y)
        run = run_steps(adapter, again, ref, codec, X, y, batches, FRESH_STEPS, 0, tols)
    except (LearnerCrash, ArithmeticError, ValueError):  # nothing to say where it cannot run
        return []
    finally:  # the arrays the learner started from hold their own values again, then its
        adapter.restore(runner.first)  # state after the check's steps is back in place
        adapter.restore(now)
    stop = run.nan_step
    bad = [r for r in run.records if not r.passed and (stop is None or r.step < stop)]
    if run.crash or again.hygiene or not bad:
        return []
    found = diagnose(bad, run.history, ref, codec, X, y, ref.spec, stop, codec.precision)
    named = [f for f in found if f.code in NAMED and f.kind == "bug"]
    grads = sorted({r.tensor for r in bad if r.stage == "grad"})  # (a step alone parts where
    if not named and grads and codec.precision != "float16":  # an optimizer state stays put)
        runner.notes.append(_parted(codec.labels(grads)))  # said, not judged
    if not named:  # (a float16 Adam's v underflows at fresh weights: another eps, no bug)
        return []
    return [
        replace(
            named[0],
            evidence=f"at fresh weights (PyTorch's default initialisation, seed {SEED}, "
            f"from your program's state before step 1), where your data and weights did not "
            f"go in the steps checked: {named[0].evidence}",
        )
    ]


def _parted(names: tuple[str, ...]) -> Finding:
    return Finding(
        "fresh_weights_mismatch",
        names,
        None,
        None,
        f"at fresh weights (PyTorch's default initialisation, seed {SEED}, from your "
        f"program's state before step 1) your {', '.join(names)} part from PyTorch's, where "
        "every step on your own weights agreed; no candidate bug reproduces it: a bug in a "
        "branch your data and weights never reach, or state your program keeps beside its "
        "weights (a copy of W) that the fresh weights do not reach",
        "print your gradients beside finite differences at weights of both signs (e.g. "
        "np.random.randn weights): an activation's derivative below 0 is the usual suspect",
        "note",
    )
