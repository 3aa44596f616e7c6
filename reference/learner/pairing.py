"""Rows paired with targets other than their own. A step that shuffles X without y (or y
without X, or with two permutations), sorts or reverses one of them, or takes ``out - y`` of
an (N, 1) output and an (N,) target (an (N, N) matrix: every output against every target)
computes a gradient that is wrong only because row i meets a target that is not y_i. Such a
gradient is right whenever it does not matter which target meets which row: when every row
of X is the same (row 1 repeated, y as given) and when every target is the same (y's first
row repeated, X as given). No other slip is right on both: a wrong derivative, reduction or
scale parts on either (the data still vary), and a reduction over samples of the wrong
quantity (an outer product of means) parts where X varies.

Asked only where every mismatch is unexplained or a loss value's (a mispaired target changes
the loss, not the output) and starts at step 1 (an input kept from step
1, right at step 1 and paired with another order later, is ``stale_input``, named elsewhere):
``PAIR_STEPS`` steps run twice again from the learner's state before step 1, once on each
data set; where both agree everywhere, the mismatch is named ``rows_mispaired``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from .result import Finding
from .runner import LearnerCrash, Runner

if TYPE_CHECKING:
    from .adapters import Adapter

PAIR_STEPS = 2
PAIRED_READINGS = ("unexplained_mismatch", "loss_mismatch")  # what a mispairing reads as


def mispaired(
    diag: list[Finding],
    bad: list,
    adapter: Adapter,
    runner: Runner,
    run_steps: Callable[..., Any],
    *args: Any,
) -> Finding | None:
    """``rows_mispaired`` where the module's two runs agree and the check's did not, else
    None; the learner's state is put back either way. ``args``: the checker's (ref, codec,
    X, y, batches, tols); ``run_steps``: its step loop."""
    ref, codec, X, y, batches, tols = args
    if ref.clip[1]:  # a norm clip binds by the data's gradient: repeated rows change it (s35 F3)
        return None
    bugs = [f for f in diag if f.kind == "bug"]
    if not bugs or any(f.code not in PAIRED_READINGS for f in bugs):
        return None
    if min((r.step for r in bad), default=None) != 1 or runner.first is None:
        return None
    n = len(X)
    if n < 2 or adapter.style == "forward" or _alike(y) or _alike(X):
        return None  # nothing to pair otherwise: the data would not differ
    same = np.zeros(n, dtype=np.intp)
    runs = (
        (runner.X[same], runner.y, X[same], y),  # every row of X the first
        (runner.X, runner.y[same], X, y[same]),  # every target the first
    )
    now = adapter.keep(pin=True)
    try:
        for X_own, y_own, X_ref, y_ref in runs:
            adapter.restore(runner.first)
            again = Runner(adapter, X_own, y_own)
            run = run_steps(adapter, again, ref, codec, X_ref, y_ref, batches, PAIR_STEPS, 0, tols)
            if run.crash or run.nan_step is not None or not run.records:
                return None
            if any(not r.passed for r in run.records):
                return None
    except (LearnerCrash, ArithmeticError, ValueError):  # data it cannot take: no reading
        return None
    finally:
        adapter.restore(runner.first)
        adapter.restore(now)
    return Finding(
        "rows_mispaired",
        tuple(dict.fromkeys(p for f in bugs for p in f.params)),
        None,
        1,
        "your step agrees with PyTorch when every row of X is the same (your row 1 repeated, "
        "your y as given) and when every target is the same (your first target repeated, "
        "your X as given), and parts at step 1 on your data: it pairs rows of X with targets "
        "other than their own (X or y shuffled, sorted or reversed alone, or out - y "
        "broadcast to every output against every target)",
        "reorder X and y together, with one permutation (idx = rng.permutation(len(X)); "
        "X, y = X[idx], y[idx]), and give out and y one shape (an (N, 1) output minus an "
        "(N,) target is an (N, N) matrix: y.reshape(out.shape))",
    )


def _alike(a: Any) -> bool:
    """Whether every row of ``a`` is its first."""
    a = np.asarray(a)
    return bool(len(a) < 2 or np.array_equal(a, a[np.zeros(len(a), dtype=np.intp)]))
