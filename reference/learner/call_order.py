"""The order of a whole step and its forward: the checker calls ``forward=`` after the step
(from the weights before it), so a step that works from what a forward call before it left
(a cache) shows, whether it is a learner's bug (its loop backprops the previous call's cache,
then runs forward) or an adapter that relies on the old order."""

from __future__ import annotations

from typing import Any

import numpy as np

from .adapters import Adapter
from .result import Finding


def needs_forward(crash: Finding) -> Finding:
    """``step_needs_forward``: the step raised on its own at step 1 (``crash``) and runs once
    the learner's forward is called on the batch first."""
    return Finding(
        "step_needs_forward",
        (),
        None,
        1,
        f"your step raised when called on its own, and ran with your forward called on the "
        f"batch first: it works from what that forward call left (a cache), not from the X "
        f"it is given; the checker calls forward= after each step. Its error:\n"
        f"{crash.evidence}",
        "run the forward pass inside your step (step=lambda X, y: (net.forward(X), "
        "net.backward_and_update(y))), or, if your step backprops the previous call's cache "
        "and then runs forward, run forward first",
    )


def with_forward_order(
    adapter: Adapter, findings: list[Finding], runner: Any, history: list
) -> list[Finding]:
    """``findings`` with what ``forward_order`` adds: a bug first, a note last."""
    extra = forward_order(adapter, findings, runner, history)
    return [f for f in extra if f.kind == "bug"] + findings + [f for f in extra if f.kind == "note"]


def forward_order(
    adapter: Adapter, findings: list[Finding], runner: Any, history: list
) -> list[Finding]:
    """Beside unexplained mismatches of a whole step with a forward: where they start after
    step 1, the note that forward= runs after the step (a step that works from the forward
    call before it parts from then on); where they start at step 1, before which no forward=
    call ran, the experiment: step 1 run again from the learner's state before it, once alone
    and once with forward called on its batch first. A step that takes other weights after
    the forward call works from what the last call left (a cache from a call the program made
    before the check, on other data): ``stale_input``. Nothing where it does not (review s13:
    the note beside a bug of step 1 pointed at a cache the step never read)."""
    bugs = [f for f in findings if f.kind == "bug"]
    if adapter.grads is not None or adapter.step is None or adapter.forward is None:
        return []
    if not bugs or any(f.code != "unexplained_mismatch" for f in bugs):
        return []
    if min((f.step for f in bugs if f.step is not None), default=None) != 1:
        return [FORWARD_ORDER]
    return [STALE_CACHE] if history and _reads_forward_cache(runner, history[0][0]) else []


def _reads_forward_cache(runner: Any, obs: Any) -> bool:
    """Whether step 1, run again from the state before it, reproduces the learner's weights
    alone and takes other ones (by more than 1e-6 of its update) with forward called first."""
    a = runner.a
    if runner.first is None or obs.after is None:
        return False
    X, y = runner.X[obs.rows], runner.y[obs.rows]
    now, runs = a.keep(), []
    try:
        for fwd in (False, True):
            a.restore(runner.first)
            a.write(obs.params)
            if fwd:
                runner.call("forward", a.forward, 1, X)
                a.write(obs.params)
            runner.call("step", a.step, 1, X, y)
            runs.append(a.read())
    except Exception:  # noqa: BLE001 - a learner that fails here shows nothing either way
        return False
    finally:
        a.restore(now)
    alone, fwd = runs
    if any(not np.array_equal(alone[k], obs.after[k]) for k in obs.after):
        return False  # not reproducible from its state: randomness, not the forward call
    moved = sum(float(np.sum((alone[k] - obs.params[k]) ** 2)) for k in obs.after)
    apart = sum(float(np.sum((fwd[k] - alone[k]) ** 2)) for k in obs.after)
    return apart > 1e-12 * moved


FORWARD_ORDER = Finding(
    "step_forward_order",
    (),
    None,
    None,
    "your forward= is called after your step at each step (from the weights before it): if "
    "your step works from what a forward call before it left (a cache), every step after the "
    "first parts as here",
    "run the forward pass inside your step; if your own loop backprops the previous call's "
    "cache before its forward pass, that is the bug",
    "note",
)
STALE_CACHE = Finding(
    "stale_input",
    (),
    None,
    1,
    "your step takes other weights at step 1 when your forward= is called on its batch just "
    "before it: it backprops what the last forward call left (a cache from an earlier call, "
    "on other data: the previous sample's or batch's, or your program's own before the "
    "check), not the X it is given",
    "run the forward pass inside your step (step=lambda X, y: (net.forward(X), "
    "net.backward(y), net.update())); in your own loop, call forward on each batch before its "
    "backward pass",
)
