"""Targets encoded from the batch's own labels. A training loop of mini-batches hands batches
that lack a class; the check's batches may all hold every class. Where every step agreed
under a class loss, one step each runs from the learner's state before step 1 on a batch
without the smallest class and on one without the largest (the other rows, repeated to the
check's batch size, so code made for one batch size takes them too). A one-hot sized by the
batch (``np.eye(y.max() + 1)[y]``) loses a column on the second; labels mapped by the batch
(``np.unique(y, return_inverse=True)``) shift on the first (review s36 F4: a CS231n-style
loss with np.unique was a match, where 553 of its 800 training batches lacked a class). What
parts, or a crash there, is the finding."""

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

CLASS_LOSSES = ("cross_entropy", "multi_margin")
FIX = (
    "encode the targets with the number of classes of the whole problem, never from the "
    "batch's labels: np.eye(n_classes)[y] (not np.eye(y.max() + 1)[y]), the labels themselves "
    "(not np.unique(y, return_inverse=True) of the batch): a mini-batch may lack a class"
)


def lacking_class(
    adapter: Adapter, runner: Runner, run_steps: Callable[..., Any], *args: Any, full: bool
) -> list[Finding]:
    """The findings of one step on a batch without the smallest class and one without the
    largest (see the module), or none; the learner's state is put back either way. ``args``:
    the checker's (ref, codec, X, y, batches, tols); ``full``: a batch of every row was
    declared, which holds every class: what parts is latent, a note (review s38 F8)."""
    found = _lacking(adapter, runner, run_steps, *args)
    if not full:
        return found
    rest = " (you declared a batch of all your rows, which holds every class: this holds only "
    return [replace(f, hint=f.hint + rest + "for mini-batches)", kind="note") for f in found]


def _lacking(
    adapter: Adapter, runner: Runner, run_steps: Callable[..., Any], *args: Any
) -> list[Finding]:
    ref, codec, X, y, batches, tols = args
    if ref.spec.loss.name not in CLASS_LOSSES or runner.first is None or adapter.style == "forward":
        return []
    labels = np.argmax(y, axis=1) if y.ndim == 2 and y.shape[1] > 1 else np.ravel(y).astype(int)
    present = np.unique(labels)
    if len(present) < 2:
        return []
    size = len(batches[0])
    without = [(c, np.resize(np.flatnonzero(labels != c), size)) for c in (present[0], present[-1])]
    try:
        with from_first(runner):
            rows = [r for _, r in without]
            run = run_steps(adapter, runner.fresh(), ref, codec, X, y, rows, 2, 0, tols)
    except (LearnerCrash, ArithmeticError, ValueError) as e:
        crash = e.finding if isinstance(e, LearnerCrash) else None
        return [_where(crash, without, 1)] if crash is not None else []
    if run.crash is not None:
        return [_where(run.crash, without, run.crash.step or 1)]
    stop = run.nan_step
    bad = [r for r in run.records if not r.passed and (stop is None or r.step < stop)]
    if not bad:
        return []
    found = diagnose(
        bad, run.history, ref, codec, X, y, ref.spec, stop, codec.precision, whole_agreed=True
    )
    return [_where(f, without, bad[0].step) for f in found if f.kind == "bug"][:1]


def _where(f: Finding, without: list, step: int) -> Finding:
    """``f`` said as found on a batch that lacks a class, with the fix of such code."""
    c = without[min(max(step, 1), len(without)) - 1][0]
    return replace(
        f,
        evidence=f"on a batch without class {c} (your other rows, from your program's state "
        f"before step 1), where every batch with it agreed: {f.evidence}",
        hint=f"{FIX}; {f.hint}",
        kind="bug",
    )
