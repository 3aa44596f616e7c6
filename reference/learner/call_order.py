"""The order of a whole step and its forward: the checker calls ``forward=`` after the step
(from the weights before it), so a step that works from what a forward call before it left
(a cache) shows, whether it is a learner's bug (its loop backprops the previous call's cache,
then runs forward) or an adapter that relies on the old order."""

from __future__ import annotations

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


def forward_order_note(adapter: Adapter, findings: list[Finding]) -> list[Finding]:
    """A note beside unexplained mismatches of a whole step with a forward: it runs after the
    step, so a step that works from the forward call before it parts (or that is the bug).
    Not where they start at step 1, before which no forward= call has run: a step that
    backprops the previous call's cache agrees there (review s13: the note beside a bug of
    step 1 pointed at a cache the step never read)."""
    bugs = [f for f in findings if f.kind == "bug"]
    if adapter.grads is not None or adapter.step is None or adapter.forward is None:
        return []
    if not bugs or any(f.code != "unexplained_mismatch" for f in bugs):
        return []
    if min((f.step for f in bugs if f.step is not None), default=None) == 1:
        return []
    return [
        Finding(
            "step_forward_order",
            (),
            None,
            None,
            "your forward= is called after your step at each step (from the weights before it): "
            "if your step works from what a forward call before it left (a cache), every step "
            "after the first parts as here",
            "run the forward pass inside your step; if your own loop backprops the previous "
            "call's cache before its forward pass, that is the bug",
            "note",
        )
    ]
