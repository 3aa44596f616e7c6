"""A norm clip that never lets go. Under a declared ``clip_grad_norm`` that binds at every step
the check compares, a step that rescales the gradients to the clip's length always (the
``if norm > max_norm`` forgotten) takes the clipped step everywhere the check looks (review
s36 F3: a match; its training parted from PyTorch's at step 1,421, where the norm first fell
below the clip). Under the squared errors, whose gradient at the output is linear in out - y
and whose targets are any real numbers, from the learner's state before step 1, ``WARM`` steps
on its batch (an adaptive optimizer's moments then hold gradients at the clip's length: its
first step alone, about lr sign(g), is the same at any scale), then one with the targets moved
towards the outputs, y' = out + t (y - out), t chosen so that PyTorch's data gradient there
is about a quarter of the clip: a clip that binds no longer (where an L2 term the targets do
not move keeps it binding, nothing is said), and a step that still rescales parts:
``clip_always_rescales``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from .explain import diagnose
from .from_first import from_first
from .result import Finding
from .runner import LearnerCrash, Runner

if TYPE_CHECKING:
    from .adapters import Adapter

LINEAR = ("mse", "sse", "half_sse")  # dL/d(out) linear in out - y, any real targets
WARM = 3  # steps on the batch as it is first, so an adaptive optimizer's state holds them
FIX = (
    "rescale the gradients only where their norm exceeds the clip, g *= min(1, max_norm / "
    "norm) (torch.nn.utils.clip_grad_norm_): rescaled at every step, each step has the clip's "
    "length however small the gradient"
)


def unbound_clip(
    adapter: Adapter, runner: Runner, run_steps: Callable[..., Any], *args: Any, full: bool
) -> list[Finding]:
    """The findings of a step whose clip does not bind (see the module), or none; the
    learner's state is put back either way. ``args``: the checker's (ref, codec, X, y,
    batches, tols); ``full`` (a batch of every row declared) changes nothing here: a clip
    that binds no more happens on any batch."""
    ref, codec, X, y, batches, tols = args
    c = ref.clip[1]
    if not c or ref.spec.loss.name not in LINEAR or runner.first is None:
        return []
    if adapter.style == "forward":
        return []
    rows = batches[0]
    own = np.asarray(runner.y)
    own = own.astype(np.float64) if own.dtype.kind in "iub" else own  # moved: no longer whole
    with from_first(runner):
        warm, _, _ = _steps(adapter, runner, run_steps, args, own, rows, None)  # where the moved
        if warm is None or not warm.history:  # step starts (review s40 F1: outputs moved by
            return []  # the warm steps left the targets' offset behind)
        rs = ref.run(warm.history[-1][0].params, X[rows], y[rows])  # the moved step's start
        norm = _norm(rs.grads)
        if not np.isfinite(norm) or norm <= c:  # the clip did not bind there: steps saw it
            return []
        t = c / (4 * norm)
        out = np.asarray(rs.out, np.float64).reshape(y[rows].shape)
        run, Xe, ye = _steps(adapter, runner, run_steps, args, own, rows, out + t * (y[rows] - out))
        if run is None:
            return []
    bad = [r for r in run.records if not r.passed]
    if run.crash is not None or not bad or any(r.stage != "update" for r in bad):
        return []  # (gradients shown and parting: the new targets, not the clip)
    last = run.history[-1]
    if bad[0].step != WARM + 1 or _norm(last[1].grads) >= c:  # (an L2 term the targets do not
        return []  # move keeps the clip binding: nothing to see here)
    found = diagnose(
        bad, run.history, ref, codec, Xe, ye, ref.spec, run.nan_step, codec.precision,
        whole_agreed=True,
    )  # fmt: skip
    where = (
        f"with the gradients' norm below the declared clip_grad_norm = {c:g} (from your "
        f"program's state before step 1, {WARM} steps on your batch, then one with the targets "
        f"moved towards its outputs: PyTorch's norm {_norm(last[1].grads):.3g} there), where "
        "every step that the clip bound agreed: "
    )
    said = [
        replace(
            f,
            code="clip_always_rescales",
            evidence=where + f.evidence,
            hint=f"{FIX}; {f.hint}",
            kind="bug",
        )
        for f in found
        if f.kind == "bug"
    ][:1]
    if said:  # the clip is what parts: not the textbook's form of it (``clip_form``)
        ref.textbook_clip = False
    return said


def _steps(adapter: Adapter, runner: Runner, run_steps: Callable[..., Any], args: tuple,
           own: np.ndarray, rows: np.ndarray, y2: np.ndarray | None) -> tuple:  # fmt: skip
    """``WARM`` steps on ``rows`` from the state before step 1, then one more on them: with the
    targets ``y2`` where given (handed to the learner in its own dtype, to the twin as the
    learner got them), else its own (the moved step starts where it starts). (Its run, or
    None where the learner's code raises, and the data the twin took.)"""
    ref, codec, X, y, _, tols = args
    n, steps = len(X), [rows] * (WARM + (y2 is None))  # (one more: its start is the moved's)
    Xe, ye, Xo, yo = X, y.astype(np.float64), runner.X, own
    if y2 is not None:
        moved = own[rows].copy()
        moved[...] = y2.reshape(moved.shape)
        Xe, Xo = np.concatenate([X, X[rows]]), np.concatenate([runner.X, runner.X[rows]])
        ye = np.concatenate([ye, moved.astype(np.float64).reshape(y2.shape)])
        yo, steps = np.concatenate([own, moved]), [*steps, np.arange(n, n + len(rows))]
    adapter.restore(runner.first)
    try:
        run = run_steps(adapter, runner.fresh(Xo, yo), ref, codec, Xe, ye, steps, len(steps), 0,
                        tols)  # fmt: skip
    except (LearnerCrash, ArithmeticError, ValueError):
        return None, Xe, ye
    return run, Xe, ye


def _norm(grads: dict) -> float:
    return float(np.sqrt(sum(float(np.sum(np.square(g))) for g in grads.values())))
