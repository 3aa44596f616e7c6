"""The probes after the steps: once every step agreed (or agreed up to notes), the learner's code
is asked what the steps could not ask. Its forward on rows of its own (``forward_input``),
then, from its state before step 1, the data's halves, batches that lack a class and a step
whose norm clip lets go (``sub_batch``). Those start again from the state kept before step 1,
which holds what the learner's objects hold; a step that keeps state elsewhere (a counter in
``itertools.count``, a mutable default argument, a global) cannot be taken back there, and its
runs would part for that alone (review s39 F3: Adam's t counting on blamed the targets'
encoding). So step 1 is run again first: where it does not give step 1's weights again, those
probes are not run, and a note says so."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from .explain import HYPOTHESIS_TOL
from .forward_input import own_input
from .from_first import from_first
from .result import Finding
from .runner import LearnerCrash, Runner
from .sub_batch import sub_batches

if TYPE_CHECKING:
    from .adapters import Adapter

NOT_REPLAYED = Finding(
    "probes_not_run",
    (),
    None,
    None,
    "the runs from your program's state before step 1 (the data's halves, batches without a "
    "class, a step whose clip lets go): step 1 run again from that state took other weights "
    "(beyond round-off), so your step keeps state the check cannot take back (a counter in "
    "itertools.count or a global, a mutable default argument) or draws anew at each call",
    "keep the step's state (its step count, its moments) on your network object",
    "note",
)


def after_steps(
    adapter: Adapter, runner: Runner, run_steps: Callable[..., Any], *args: Any,
    history: list, full: bool,
) -> None:  # fmt: skip
    """Run the probes (see the module), adding bugs to ``runner``'s hygiene and notes to its
    notes. ``args``: the checker's (ref, codec, X, y, batches, tols); ``history``: the run's
    steps; ``full``: a batch of every row was declared."""
    ref, _, X, y, _, tols = args
    runner.hygiene += own_input(adapter, runner, ref, X, y, history, tols)
    if runner.hygiene or runner.first is None or adapter.style == "forward":
        return
    if not replays(adapter, runner, run_steps, history, *args):
        runner.notes.append(NOT_REPLAYED)
        return
    sub_batches(adapter, runner, run_steps, *args, full=full)
    if not runner.hygiene:  # a parting at fresh weights (fresh_steps), the state shown to replay
        runner.hygiene += getattr(runner, "fresh_found", [])


def replays(
    adapter: Adapter, runner: Runner, run_steps: Callable[..., Any], history: list, *args: Any
) -> bool:
    """Whether step 1, run again from the state before it, gives the weights (and gradients)
    step 1 gave."""
    ref, codec, X, y, batches, tols = args
    if not history or history[0][0].step != 1:
        return False
    first = history[0][0]
    try:
        with from_first(runner):
            run = run_steps(adapter, runner.fresh(), ref, codec, X, y, batches[:1], 1, 0, tols)
    except (LearnerCrash, ArithmeticError, ValueError):
        return False
    if run.crash is not None or not run.history:
        return False
    again, (rt, at) = run.history[0][0], HYPOTHESIS_TOL[codec.precision]  # (round-off: rows
    return _same(first.after, again.after, rt, at) and _same(first.grads, again.grads, rt, at)


def _same(a: dict | None, b: dict | None, rtol: float, atol: float) -> bool:
    """Equal but for round-off (a step that sums its rows in another order: s40 F2)."""
    if a is None or b is None:
        return a is b
    return a.keys() == b.keys() and all(
        np.shape(a[k]) == np.shape(b[k])
        and np.allclose(a[k], b[k], rtol=rtol, atol=atol * float(np.abs(b[k]).max(initial=1.0)))
        for k in a
    )
