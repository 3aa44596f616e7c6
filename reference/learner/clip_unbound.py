"""A norm clip that never lets go. Under a declared ``clip_grad_norm`` that binds at every step
the check compares, a step that rescales the gradients to the clip's length always (the
``if norm > max_norm`` forgotten) takes the clipped step everywhere the check looks (review
s36 F3: a match; its training parted from PyTorch's at step 1,421, where the norm first fell
below the clip). Under the squared error, whose gradient at the output is linear in out - y
and whose targets are any real numbers, one step runs from the learner's state before step 1 with
the targets moved towards the outputs, y' = out + t (y - out), t chosen so that PyTorch's
gradient norm there is a quarter of the clip: a clip that binds no longer, and a step that
still rescales parts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from .explain import diagnose
from .result import Finding
from .runner import LearnerCrash, Runner

if TYPE_CHECKING:
    from .adapters import Adapter

LINEAR = ("mse",)  # dL/d(out) linear in out - y, for targets any real number
FIX = (
    "rescale the gradients only where their norm exceeds the clip, g *= min(1, max_norm / "
    "norm) (torch.nn.utils.clip_grad_norm_): rescaled at every step, each step has the clip's "
    "length however small the gradient"
)


def unbound_clip(
    adapter: Adapter, runner: Runner, run_steps: Callable[..., Any], *args: Any
) -> list[Finding]:
    """The findings of one step whose clip does not bind (see the module), or none; the
    learner's state is put back either way. ``args``: the checker's (ref, codec, X, y,
    batches, tols)."""
    ref, codec, X, y, batches, tols = args
    c = ref.clip[1]
    if not c or ref.spec.loss.name not in LINEAR or runner.first is None:
        return []
    if adapter.style == "forward":
        return []
    rows = batches[0]
    now = adapter.keep(pin=True)
    try:
        adapter.restore(runner.first)
        P0 = adapter.read()
        rs = ref.run(P0, X[rows], y[rows])
        norm = float(np.sqrt(sum(float(np.sum(np.square(g))) for g in rs.grads.values())))
        if not np.isfinite(norm) or norm <= c:  # the clip did not bind there: steps saw it
            return []
        t = c / (4 * norm)
        out = np.asarray(rs.out, np.float64).reshape(y[rows].shape)
        y2 = y.astype(np.float64).copy()
        y2[rows] = out + t * (y[rows] - out)
        own = np.asarray(runner.y).copy()
        own[rows] = y2[rows].reshape(own[rows].shape).astype(own.dtype)
        again = Runner(adapter, runner.X, own)
        run = run_steps(adapter, again, ref, codec, X, y2.astype(y.dtype), [rows], 1, 0, tols)
    except (LearnerCrash, ArithmeticError, ValueError):
        return []
    finally:
        adapter.restore(runner.first)
        adapter.restore(now)
    bad = [r for r in run.records if not r.passed]
    if run.crash is not None or not bad or any(r.stage != "update" for r in bad):
        return []  # (gradients shown and parting: the new targets, not the clip)
    found = diagnose(
        bad, run.history, ref, codec, X, y2, ref.spec, run.nan_step, codec.precision,
        whole_agreed=True,
    )  # fmt: skip
    where = (
        f"with the gradients' norm below the declared clip_grad_norm = {c:g} (one step from "
        f"your program's state before step 1, the targets moved to within {t:.3g} of its "
        f"outputs: PyTorch's norm {norm * t:.3g}), where every step that the clip bound agreed: "
    )
    said = [replace(f, evidence=where + f.evidence, hint=f"{FIX}; {f.hint}", kind="bug")
            for f in found if f.kind == "bug"][:1]  # fmt: skip
    if said:  # the clip is what parts: not the textbook's form of it (``clip_form``)
        ref.textbook_clip = False
    return said
