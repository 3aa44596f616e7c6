"""A gradient right only on the whole data set at once. Where the check ran every row as one
batch (no batch size declared or given) and everything agreed, ``HALF_STEPS`` steps run again
from the learner's state before step 1 on the data's two halves as batches: a gradient that
divides by the data set's rows (``m = X.shape[0]`` read once, a global N) where its batch's
belong, or keeps another quantity of the whole set, parts there, and is said as the step loop
finds it (``B/M``: a batch's rows over the data's). An L2 coefficient that follows the
batch's rows is a note (``_kind``), and so is every finding where a batch size of all the
rows was declared: the learner trains on every row at once, and the finding is latent (review
s36 F6: a class that keeps m = X.shape[0] from its constructor, trained full-batch)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from .class_batches import lacking_class
from .clip_unbound import unbound_clip
from .explain import diagnose
from .from_first import from_first
from .result import Finding
from .runner import LearnerCrash, Runner
from .torch_side import Reference

if TYPE_CHECKING:
    from .adapters import Adapter

HALF_STEPS = 2


def sub_batches(
    adapter: Adapter, runner: Runner, run_steps: Callable[..., Any], *args: Any, full: bool
) -> None:
    """The findings of the run on the data's halves (see the module), then of batches that
    lack a class (``class_batches``) and of a step whose norm clip does not bind
    (``clip_unbound``), added to ``runner``'s hygiene (bugs) and notes; the
    learner's state is put back either way. ``args``: the checker's (ref, codec, X, y,
    batches, tols); ``run_steps``: its step loop; ``full``: a batch of every row was
    declared."""
    found = _halves(adapter, runner, run_steps, *args, full=full)
    for probe in (lacking_class, unbound_clip):  # (class_batches.py, clip_unbound.py)
        if not [f for f in found if f.kind != "note"]:
            found += probe(adapter, runner, run_steps, *args, full=full)
    runner.hygiene += [f for f in found if f.kind != "note"]
    runner.notes += [f for f in found if f.kind == "note"]


def _halves(
    adapter: Adapter, runner: Runner, run_steps: Callable[..., Any], *args: Any, full: bool
) -> list[Finding]:
    ref, codec, X, y, batches, tols = args
    n = len(X)
    if len(batches) != 1 or n < 4 or runner.first is None or adapter.style == "forward":
        return []
    half = n // 2
    halves = [np.arange(half), np.arange(half, 2 * half)]
    run = _on(adapter, runner, run_steps, ref, codec, X, y, halves, tols)
    if run is None or run.crash:  # code made for one batch size alone: said, not judged
        return [_one_size(n, half, run.crash if run is not None else None)]
    stop = run.nan_step
    bad = [r for r in run.records if not r.passed and (stop is None or r.step < stop)]
    if not bad:
        return []
    if ref.l2 and (per := _per_batch(adapter, runner, run_steps, ref, codec, X, y, halves, tols)):
        return [per]  # lambda over each batch's rows: the declared l2 on all of them at once
    found = diagnose(
        bad, run.history, ref, codec, X, y, ref.spec, stop, codec.precision, whole_agreed=True
    )
    where = (
        f"on batches of {half} rows (your {n} rows in two halves, from your program's state "
        f"before step 1), where all {n} at once agreed: "
    )
    fix = f"; check with batch_size={half} to see it step by step" + (
        f" (you declared a batch of all {n} rows, which your training is unaffected by: this "
        "holds only for mini-batches)"
        if full
        else f" (if you only ever train on every row at once, your training is unaffected: "
        f"declare batch_size={n} and this is a note)"
    )
    return [
        replace(f, evidence=where + f.evidence, hint=_hint(f) + fix,
                kind="note" if full else _kind(f))
        for f in found
        if f.kind == "bug"
    ]  # fmt: skip


def _one_size(n: int, half: int, crash: Finding | None) -> Finding:
    """The note where the learner's code raises on half its rows (review s45 F2: Karpathy's
    case study keeps num_examples global; the crash was dropped and nothing said)."""
    lines = [ln.strip() for ln in (crash.evidence if crash else "").splitlines() if ln.strip()]
    err = next((ln for ln in reversed(lines) if re.match(r"\w+(Error|Exception)\b", ln)), "")
    said = f"it raised {err}" if err else "it raised"
    return Finding(
        "one_batch_size",
        (),
        None,
        None,
        f"your program runs on batches of {n} rows alone: run again from its state before "
        f"step 1 on batches of {half} rows (your data's halves), {said}; "
        f"so the match covers batches of all {n} rows at once, as your training takes them, "
        "and nothing about other batch sizes (a batch size read once, a global num_examples, "
        "an array sized for the whole data)",
        f"to train on mini-batches, take each size from the batch itself (N = X.shape[0] of "
        f"the batch given) and check with batch_size={half}",
        "note",
    )


def _on(adapter: Adapter, runner: Runner, run_steps: Callable[..., Any], ref: Any, codec: Any,
        X: Any, y: Any, halves: list, tols: Any) -> Any:  # fmt: skip
    """The run of ``HALF_STEPS`` steps on ``halves`` from the state before step 1, or None
    where the learner's code raises on them; its state is put back either way."""
    try:
        with from_first(runner):
            return run_steps(adapter, runner.fresh(), ref, codec, X, y, halves, HALF_STEPS, 0,
                             tols)  # fmt: skip
    except (LearnerCrash, ArithmeticError, ValueError):
        return None


def _per_batch(adapter: Adapter, runner: Runner, run_steps: Callable[..., Any], ref: Any,
               codec: Any, X: Any, y: Any, halves: list, tols: Any) -> Finding | None:  # fmt: skip
    """The note where the halves' steps are the declared ones with the L2 coefficient over each
    batch's rows (deeplearning.ai's lambd / m * W, m the batch's): under any optimizer, also
    where its steps hide the gradients (review s39 F1: Adam's was a bug)."""
    n, b = len(X), len(halves[0])
    scale = lambda v: tuple(x * n / b for x in v) if isinstance(v, tuple) else v * n / b  # noqa: E731
    other = Reference(ref.spec, ref.frozen, scale(ref.l2s), ref.softmax_out, ref.l2_biases,
                      ref.clip)  # fmt: skip
    run = _on(adapter, runner, run_steps, other, codec, X, y, halves, tols)
    if run is None or run.crash is not None or any(not r.passed for r in run.records):
        return None
    return Finding(
        "regularization_mismatch",
        codec.labels([k for k in ref.twin.names if k[0] == "W"]),
        None,
        1,
        f"on batches of {b} rows (your {n} rows in two halves, from your program's state "
        f"before step 1), where all {n} at once agreed: your steps are the declared ones with "
        f"the L2 coefficient over each batch's rows, what lambda divided by the mini-batch's "
        f"{b} rows gives where the training set's {n} belong ({n} / {b}: deeplearning.ai's "
        "lambd / m * W with m each batch's)",
        "divide lambda by the training set's size, not the mini-batch's (one fixed m in "
        "lambd / m * W); on all rows at once, as here, your training is unaffected",
        "note",
    )


WHOLE_SET = (
    "your gradient divides by (or keeps) a quantity of the whole data set where this batch's "
    "belongs (m = X_train.shape[0] taken once, a global N): divide by the rows of this batch, "
    "len(X) of each call"
)


def _hint(f: Finding) -> str:
    """A factor on the halves alone, all rows at once agreeing at the declared lr: neither
    another lr nor a term counted twice (either would part there too), a whole-set count
    (review s24a F3: "declare lr=0.05" led, refuted by the full batch)."""
    return WHOLE_SET if f.code == "scale_factor" else f.hint


def _kind(f: Finding) -> str:
    """An L2 coefficient over each batch's rows (deeplearning.ai's lambd / m * W) is the
    declared l2 on all the rows at once and a constant lambd / B on equal batches of B: a
    penalty of its own definition, said as a note; a gradient that parts on the halves is
    a bug for any mini-batch."""
    return "note" if f.code == "regularization_mismatch" else f.kind
