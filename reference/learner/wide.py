"""The forward pass on more rows than a step's batch: when every step hands one row (per-sample
SGD), a forward that mixes rows (a softmax normalised over the whole batch, a mean over the
batch) cannot show. Once, at step 1, the learner's ``forward`` runs on up to ``ROWS`` rows of
the data at once and is held to the twin there; a forward that only takes one row is left
alone (it raised, or returned another shape)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from .forward import explain_forward
from .result import Finding
from .runner import LearnerCrash

if TYPE_CHECKING:
    from .runner import Runner
    from .torch_side import Reference

ROWS = 64


def wide_forward(
    runner: Runner, ref: Reference, P: dict, X: np.ndarray, y: np.ndarray, tol: Any,
    hyp: tuple[float, float],
) -> list[Finding]:  # fmt: skip
    """The forward finding on ``min(len(X), ROWS)`` rows at once, or none when it agrees or
    the learner's forward takes one row only (its state is put back either way). ``tol``: the
    check's tolerance; ``hyp``: the hypotheses' (rtol, atol)."""
    n = min(len(X), ROWS)
    a = runner.a
    if a.forward is None or n < 2:
        return []
    kept = a.keep()  # a cache the call leaves must not reach the next step
    a.write(P)
    try:
        out = runner.forward(1, X[:n])
    except LearnerCrash:
        return []
    finally:
        a.restore(kept)
        a.write(P)
    want = ref.run(P, X[:n], y[:n]).out
    scale = float(np.abs(want).max(initial=0.0))
    if bool((np.abs(out - want) <= tol.atol * scale + tol.rtol * np.abs(want)).all()):
        return []
    found = explain_forward(ref, P, X[:n], out, hyp[1], hyp[0], runner.codec, 1)[0]
    said = f"on {n} rows at once (every step hands your forward one row): {found.evidence}"
    return [replace(found, evidence=said)]
