"""Gradients returned as the descent direction, with an update that adds them.

Delta-rule code (``error = y - o``, ``W += lr * delta``) hands back -dL/dW as its "gradient"
and adds it in its update: each half, judged alone, is a sign flip, and the whole step is
PyTorch's. When the two sign flips cover every parameter and the learner's post-step weights
follow the declared optimizer fed with PyTorch's gradients at every step compared, the step
is right: a note, not a bug, once the whole check, run again with the learner's gradients
taken as -dL/dW, holds every step it watches (``negated``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from .evidence import to_tensors
from .optim_variants import Sim, _follows
from .result import Finding
from .runner import LearnerCrash, Runner

SAID = (
    "your gradient functions return -dL/dW (the descent direction: error = y - a) and your "
    "update adds them (w += lr * d): "
)
PARTS = (
    SAID + "the check ran again with your gradients taken as -dL/dW, and the findings above are "
    "from that run"
)
PARTS_FIX = "fix the findings above; returning dL/dW = -d holds each half on its own"

if TYPE_CHECKING:
    from nnparity.scratch import Spec

    from .adapters import Adapter


def descent_direction(
    diag: list[Finding], history: list, spec: Spec, rtol: float, atol: float
) -> list[Finding] | None:
    """[the note] when ``diag`` is a gradient sign flip and an update sign flip on the same
    parameters that together take PyTorch's steps (see the module); None otherwise."""
    if [f.code for f in diag] != ["sign_flip", "sign_flip"]:
        return None
    if set(diag[0].params) != set(diag[1].params):
        return None
    seq = []
    for own, twin, _ in history:  # every step compared, from the first: the state holds
        if own.after is None or own.implied or own.grads is None:
            return None
        seq.append((to_tensors(own.params), to_tensors(twin.grads), to_tensors(own.after)))
    if not seq or not _follows(Sim(spec.opt.name, dict(spec.opt.kwargs)), seq, atol, rtol):
        return None
    return [
        Finding(
            "descent_direction",
            diag[0].params,
            None,
            diag[0].step,
            SAID + "each half alone is the opposite of PyTorch's, and your whole step is "
            "PyTorch's at every step compared",
            "nothing to fix for training; to compare your gradients alone (a gradient check, "
            "or this check without step=), return dL/dW = -d, or check with from_step",
            "note",
        )
    ]


def negated(
    note: list[Finding],
    adapter: Adapter,
    runner: Runner,
    run_steps: Callable[..., Any],
    *args: Any,
) -> tuple[Any, Runner] | None:
    """The check's run again from the learner's state before step 1 (``run_steps(adapter,
    runner, *args)``: the checker's step loop) with its gradients negated, and its runner,
    with ``note`` (``descent_direction``'s) among its notes, said as the reading of the run
    where that run parts; None where it cannot run. The learner's state is the new run's."""
    if runner.first is None:
        return None
    now = adapter.keep(pin=True)
    try:
        adapter.restore(runner.first)
        again = Runner(adapter, runner.X, runner.y)
        again.sign = -1.0
        run = run_steps(adapter, again, *args)
        if not all(r.passed for r in run.records):  # the step is not PyTorch's after all
            note = [replace(note[0], evidence=PARTS, hint=PARTS_FIX)]
        run.notes += note
        return run, again
    except (LearnerCrash, ArithmeticError, ValueError):
        adapter.restore(runner.first)
        adapter.restore(now)
        return None
