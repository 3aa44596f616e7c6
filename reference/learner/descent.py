"""Gradients returned as the descent direction, with an update that adds them.

Delta-rule code (``error = y - o``, ``W += lr * delta``) hands back -dL/dW as its "gradient"
and adds it in its update: each half, judged alone, is a sign flip, and the whole step is
PyTorch's. Where the learner's first step goes against the declared optimizer's step from
its own gradients, and some of those gradients point against PyTorch's, the whole check runs
again with the gradients of the parameters so stepped taken as -dL/dW (``negated``). Its run
stands where it holds every step it watches (a note: nothing to fix), or where it names every
departure it finds, in fewer findings than the first run (a second bug, such as Adam without
its bias correction, found beside the convention); otherwise the first run stands.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from .evidence import to_tensors
from .optim_variants import Sim
from .result import Finding
from .runner import LearnerCrash, Runner

if TYPE_CHECKING:
    from .adapters import Adapter

SAID = (
    "your gradient functions return -dL/dW (the descent direction: error = y - a) and your "
    "update adds them (w += lr * d): "
)
HELD = (
    SAID + "each half alone is the opposite of PyTorch's, and your whole step is PyTorch's at "
    "every step compared"
)
HELD_FIX = (
    "nothing to fix for training; to compare your gradients alone (a gradient check, or this "
    "check without step=), return dL/dW = -d, or check with from_step"
)
PARTS = (
    SAID + "the check ran again with your gradients taken as -dL/dW, and the findings above are "
    "from that run"
)
PARTS_FIX = "fix the findings above; returning dL/dW = -d holds each half on its own"
AGAINST = (  # a sign_flip of the run with -dL/dW taken: this one is +dL/dW, and it is added
    "this gradient is +dL/dW where your others are -dL/dW (error = y - a), and your update adds "
    "each (w += lr * d): these weights climb the loss; compute it from the same error as the "
    "others (negate it)"
)
SUBTRACTS = (  # a sign_flip of a parameter the run again left alone: its update subtracts
    "your update subtracts this one (w -= lr * d) where it adds the others (w += lr * d), and "
    "its gradient is -dL/dW as theirs are: these weights climb the loss; write its update as "
    "the others'"
)


def unnamed(f: Finding) -> bool:
    """Whether ``f`` says where a mismatch is without naming its cause."""
    return f.code == "unexplained_mismatch" or "no known" in f.evidence


def flipped(history: list, opt: str, kw: dict[str, Any]) -> frozenset[str]:
    """The canonical names whose step 1 goes against the declared optimizer's step from the
    learner's own gradients (cosine below -0.99), where at least one of them has a gradient
    that points against PyTorch's too; empty otherwise (or for a step with no gradients)."""
    own, twin, _ = history[0] if history else (None, None, None)
    if own is None or own.implied or own.grads is None or own.after is None:
        return frozenset()
    P, G, A = to_tensors(own.params), to_tensors(own.grads), to_tensors(own.after)
    Q = Sim(opt, dict(kw)).step(P, G)
    keys = frozenset(k for k in A if k in Q and _cos(A[k] - P[k], Q[k] - P[k]) < -0.99)
    if any(_cos(G[k], to_tensors(twin.grads)[k]) < 0 for k in keys if k in twin.grads):
        return keys
    return frozenset()


def _cos(a: Any, b: Any) -> float:
    a, b = np.ravel(np.asarray(a, np.float64)), np.ravel(np.asarray(b, np.float64))
    n = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b) / n if n > 0 else 0.0


def negated(
    diag: list[Finding],
    history: list,
    adapter: Adapter,
    runner: Runner,
    run_steps: Callable[..., Any],
    judged: Callable[[Any], tuple[list, list[Finding]]],
    *args: Any,
) -> tuple[Any, Runner, list, list[Finding]] | None:
    """(run, runner, failing records, findings) of the check run again from the learner's
    state before step 1 (``run_steps(adapter, runner, *args)``: the checker's step loop, judged
    by ``judged(run)``) with the gradients of ``flipped`` negated, where that run stands (see
    the module), with the note among its notes; None where it does not, the learner's state
    then as it was."""
    keys = flipped(history, runner.opt_name, runner.opt) if diag else frozenset()
    if not keys or runner.first is None:
        return None
    now = adapter.keep(pin=True)
    try:
        adapter.restore(runner.first)
        again = Runner(adapter, runner.X, runner.y)
        again.negate = keys
        run = run_steps(adapter, again, *args)
        bad, found = judged(run)
    except (LearnerCrash, ArithmeticError, ValueError):
        bad, found = None, None
    if bad is None or (bad and (len(found) >= len(diag) or any(map(unnamed, found)))):
        adapter.restore(runner.first)
        adapter.restore(now)
        return None
    taken = set(runner.codec.labels(sorted(keys)))  # the parameters read as -dL/dW
    found = [
        replace(f, hint=AGAINST if set(f.params) <= taken else SUBTRACTS)
        if f.code == "sign_flip"
        else f
        for f in found
    ]
    params = runner.codec.labels([k for k in history[0][0].grads if k in keys])
    note = Finding("descent_direction", params, None, diag[0].step, PARTS, PARTS_FIX, "note")
    if not bad:
        note = Finding("descent_direction", params, None, diag[0].step, HELD, HELD_FIX, "note")
        from .fresh_steps import fresh_steps  # a slip the data never reach (review s60a F1:

        ref, codec, X, y, batches, _, _, tols = args  # dead units behind the convention)
        again.hygiene += fresh_steps(adapter, again, ref, codec, X, y, batches, tols, run_steps,
                                     run)  # fmt: skip
    run.notes.append(note)
    return run, again, bad, found
