"""Gradients added into buffers that the learner's own update flushes (numpy-ml's layers:
``backward`` adds into ``self.gradients``, ``update()`` steps and zeroes them), handed over as
``from_gradients(..., backward, step=update)`` where ``update`` runs a backward pass of its
own (as Nielsen's ``update_mini_batch`` does). The check calls ``grads`` before each step, so
the step applies the sum of two passes: `gradient_accumulation` of the adapter's pairing, not
of the program, whose own loop runs one pass per update.

Its signature: every gradient the learner returns agrees with PyTorch's at every step (the
step flushed the buffers), a second backward pass at step 1 adds into them, and only the
post-step weights part. The check then runs again from the learner's state before step 1 with
the step alone, as ``from_step`` would; where that run agrees everywhere, it stands, with a
note saying why (review s16b m01)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from .adapters import Adapter
from .result import Finding
from .runner import LearnerCrash, Runner

NOTE = (
    "your gradient buffers add up across backward passes and your step flushes them "
    "(numpy-ml's accumulate-then-update design), and your step runs a backward pass of its "
    "own: the check's call to your gradients before each step doubled what the step applied. "
    "The gradients you return agreed with PyTorch's at every step, and your step, checked "
    "alone from the same start (as from_step), agrees too (if your own training loop also "
    "calls the backward pass before the step, as the check did, it takes that doubled step "
    "too: call the step alone there)"
)
FIX = (
    "nothing to fix in your network: hand the step over alone, from_step(net, names, step), "
    "to have it checked this way (a backward pass your step runs itself must not be run by "
    "grads= too)"
)


def step_alone(
    bad: list,
    hygiene: list[Finding],
    adapter: Adapter,
    runner: Runner,
    run_steps: Callable[..., Any],
    judged: Callable[[Any], tuple[list, list[Finding]]],
    *args: Any,
) -> tuple[Any, Runner, Adapter] | None:
    """(run, runner, adapter) of the check run again with the step alone, where the signature
    holds and that run agrees everywhere, with the note among its notes; None otherwise, the
    learner's state then as it was."""
    accumulates = [f for f in hygiene if f.code == "gradient_accumulation"]
    if (
        not accumulates
        or len(accumulates) != len(hygiene)
        or adapter.style != "gradients"
        or adapter.step is None
        or runner.first is None
        or not bad
        or any(r.stage != "update" for r in bad)
    ):
        return None
    alone = replace(adapter, style="step", grads=None)
    now = adapter.keep(pin=True)
    try:
        adapter.restore(runner.first)
        again = Runner(alone, runner.X, runner.y)
        run = run_steps(alone, again, *args)
        still, _ = judged(run)
    except (LearnerCrash, ArithmeticError, ValueError):
        still = None
    if still is None or still or again.hygiene or run.crash:
        adapter.restore(runner.first)
        adapter.restore(now)
        return None
    run.notes.append(Finding("step_alone", accumulates[0].params, None, 1, NOTE, FIX, "note"))
    return run, again, alone
