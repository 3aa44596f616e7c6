"""A forward pass that ignores the X it is given. Once every step agreed, the learner's forward
is called once more, at its weights now, on rows no step handed in that order (the last half
of the data, reversed), and held to PyTorch's output there. A ``predict`` that returns the
output its last step cached (``return self.output``, the ``self.forward(X)`` forgotten) or
computes from a stored ``self.X`` agrees at every step, since each step's forward sees that
step's own batch (review s36 F1-F2: both a ``match``, where ``predict(X_test)`` returned the
training set's rows). A forward that raises on another number of rows (code made for one batch
size) is left alone; one that returns the wrong number of rows, or the same outputs for other
rows, is ``stale_input``; one whose outputs on these rows are PyTorch's on none, while every
batch of the steps agreed, depends on the rows it comes with: ``batch_dependent_forward``
(review s38 F9: a forward standardising X by the batch's own statistics). The probe never asks
for as many rows as the network has outputs (review s38 F1: a correct (outputs, batch) forward
of 2 rows and 2 outputs was read the wrong way round)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .result import Finding
from .runner import LearnerCrash, Runner

if TYPE_CHECKING:
    from .adapters import Adapter
    from .torch_side import Reference

HINT = (
    "compute the forward pass from the X each call is given: call your forward on it (not "
    "return the output the last step cached), and read no stored self.X in it (where your "
    "own code takes X elsewhere, hand it the X your adapter's function is given)"
)


def own_input(
    adapter: Adapter, runner: Runner, ref: Reference, X: np.ndarray, y: np.ndarray,
    history: list, tols: Any,
) -> list[Finding]:  # fmt: skip
    """``stale_input`` where the learner's forward, called on rows of its own, answers for
    other rows (see the module); none where it answers for these, or cannot be asked.
    ``history``: the run's steps; ``tols``: its tolerances (ten times wider here: a stale
    output is far off)."""
    tol, n, k = tols.of(None), len(X), ref.spec.sizes[-1]
    if adapter.forward is None or ref.spec.layered or n < 3:
        return []
    # m rows, never as many as the outputs: a square output could be read either way round;
    # then the last batch's count, which a forward keyed on len(X) takes for that batch (s39 F6)
    m = next((c for c in (*range(max(2, n // 2), n + 1), *range(n // 2 - 1, 1, -1)) if c != k), 0)
    last = len(history[-1][0].rows) if history else 0
    for size in dict.fromkeys(c for c in (m, last) if 2 <= c <= n and c != k):
        found = _asked(adapter, runner, ref, X, y, history[-1][0].step if history else 1, size,
                       tol.rtol * 10, tol.atol * 10)  # fmt: skip
        if found:
            return [found]
    return []


def _asked(
    adapter: Adapter, runner: Runner, ref: Reference, X: np.ndarray, y: np.ndarray, step: int,
    m: int, rtol: float, atol: float,
) -> Finding | None:  # fmt: skip
    n = len(X)
    rows = np.arange(n - 1, n - 1 - m, -1)  # the last m rows, last first
    now = adapter.keep(pin=True)
    try:
        P = adapter.read()
        out = runner.forward(step, X[rows])
        twin = ref.run(P, X[rows], y[rows]).out
        scale = max(1.0, float(np.abs(twin).max(initial=0.0)))
        if out.shape == twin.shape and np.allclose(out, twin, rtol=rtol, atol=atol * scale):
            return None
        other = runner.forward(step, X[np.arange(m)])  # the first m rows, in order
    except LearnerCrash as e:
        if e.finding.code != "wrong_shape":  # it raised: made for one batch size alone
            return None
        return _said(m, f"it returned shape {e.finding.evidence.split(', got ')[-1]} for {m} rows")
    finally:
        adapter.restore(now)
    if np.array_equal(other, out) and not np.array_equal(X[np.arange(m)], X[rows]):
        return _said(m, "its outputs are not PyTorch's for these rows, and the same for other rows")
    return Finding(
        "batch_dependent_forward",
        ("forward",),
        None,
        None,
        f"every step agreed, but your forward pass called once more on {m} of your rows (the "
        "last, in reverse order: a batch no step handed) gives other outputs than PyTorch's "
        "for them: each row's output depends on the rows it comes with (the inputs or a layer "
        "normalised by the batch's own mean or std, a softmax over the batch axis), which the "
        "declared network does not: predictions on other batches, a test set, part from it",
        "make each row's output depend on that row alone: standardise with the training set's "
        "statistics, kept once (mean and std of X_train), not each batch's",
    )


def _said(m: int, how: str) -> Finding:
    return Finding(
        "stale_input",
        ("forward",),
        None,
        None,
        f"every step agreed, but your forward pass called once more on {m} of your rows (the "
        f"last, in reverse order: a batch no step handed) answers for other data: {how}. It "
        "returns what an earlier call computed (the output your step cached) or computes on a "
        "stored X, not on the X it is given: predictions on a test set would be the training "
        "batch's",
        HINT,
    )
