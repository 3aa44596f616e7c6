"""Nesterov momentum in Sutskever et al.'s (2013) form: the learner keeps w and takes its
gradient at the look-ahead point, v <- mu v + g(w - lr mu v), w <- w - lr v, where PyTorch's
``SGD(nesterov=True)`` keeps the look-ahead point itself, p = w - lr mu v, and steps
p <- p - lr (g(p) + mu b). The two are one optimizer in two parameterisations: the learner's
weights part from PyTorch's at every step, by lr mu v, and neither is a bug. Read off the
learner's own steps (v = (w_prev - w) / lr), each step is w' = p - lr g(p) with the look-ahead
p = w + mu (w - w_prev): judged from the learner's own weights at every step (nothing
accumulates), over the steps compared and then on through the watch, so that a bug that starts
later still shows (as ``unexplained_mismatch`` at its step: the twin's reading of the weights
parts from the learner's)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from nnparity.scratch.schedules import of

from .result import Finding
from .row_order import rows_at
from .runner import LearnerCrash

if TYPE_CHECKING:
    from nnparity.scratch import Spec

    from .codec import Codec
    from .runner import Runner
    from .torch_side import Reference

FORM = "nesterov_form"
LEAD = 3  # steps the form must take before a step that parts is said as a bug at that step


def _declared(spec: Spec) -> tuple[float, float] | None:
    """(mu, lr) of a declared plain Nesterov SGD (no dampening, decay or lr decay), else None."""
    kw = spec.opt.kwargs
    mu, lr = float(kw.get("momentum", 0.0) or 0.0), float(kw.get("lr", 1e-3))
    plain = not kw.get("dampening") and not kw.get("weight_decay") and not of(kw)
    return (mu, lr) if spec.opt.name == "sgd" and kw.get("nesterov") and mu and plain else None


def _parts(
    w_prev: dict, w: dict, after: dict, rows: Any, ref: Reference, X: Any, y: Any, spec: Spec,
    tol: tuple[float, float], held: dict[str, str], c: float = 1.0,
) -> list[str]:  # fmt: skip
    """The parameters whose post-step weights ``after`` one look-ahead step from ``w`` does not
    predict: the tolerance of the array's largest step (at least 64 eps of the storage dtype:
    a float16 program's gradient at a look-ahead point rounded to its spacing), rtol of the
    weight, and a stored weight's rounding (its spacing at the three weights involved, times
    2 (1 + mu))."""
    mu, lr = _declared(spec) or (0.0, 0.0)
    w = {k: np.asarray(v, np.float64) for k, v in w.items()}
    ahead = {k: w[k] + mu * (w[k] - np.asarray(w_prev[k], np.float64)) for k in w}
    look = ahead if c == 1.0 else {k: w[k] + c * (ahead[k] - w[k]) for k in w}  # g taken there
    g = ref.run(look, X[rows], y[rows]).grads
    out = []
    for k in (k for k in w if k in g and k in after):
        pred, new = ahead[k] - lr * g[k], np.asarray(after[k], np.float64)
        dt = np.dtype(held.get(k, "float64"))
        top = np.maximum(np.maximum(np.abs(w[k]), np.abs(new)), np.abs(w_prev[k]))
        rounding = 2 * (1 + mu) * np.spacing(top.astype(dt)).astype(np.float64)
        moved = float(np.abs(pred - w[k]).max(initial=0.0))  # float16's own chain of ops
        coef = max(*tol, 64 * float(np.finfo(dt).eps))  # (a look-ahead rounded to spacing)
        allowed = coef * max(moved, 1e-300) + tol[0] * np.abs(pred) + rounding
        if not bool((np.abs(new - pred) <= allowed).all()):
            out.append(k)
    return out


def sutskever_form(
    history: list, ref: Reference, X: Any, y: Any, spec: Spec, atol: float, rtol: float,
    codec: Codec,
) -> list[Finding]:  # fmt: skip
    """The ``nesterov_form`` note where every observed step from step 1 is Sutskever's form of
    the declared ``sgd(momentum=mu, nesterov=true)``; where the first ``LEAD`` steps are and a
    later one parts, the finding at that step; else nothing. ``history``: the learner's
    observations (``obs.params``, ``obs.after``, ``obs.rows``)."""
    seq = [o for o in history if o.after is not None]
    if _declared(spec) is None or len(seq) < 2 or seq[0].step != 1:
        return []
    w_prev, held = seq[0].params, codec.held_in()  # v = 0 before the first step
    for i, o in enumerate(seq):
        if i and o.step != seq[i - 1].step + 1:
            return []
        bad = _parts(w_prev, o.params, o.after, o.rows, ref, X, y, spec, (rtol, atol), held)
        if bad and i >= LEAD:
            return [_late(o.step, codec.labels(bad))]
        if bad:  # step 1 (v = 0: any look-ahead is w) and no further: another look-ahead?
            c = _look_ahead(seq, ref, X, y, spec, (rtol, atol), held) if i else None
            return [_slipped(c, codec.labels(list(seq[0].after)))] if c is not None else []
        w_prev = o.params
    return [_note(seq[-1].step)]


LOOK_AHEADS = (-1.0, 0.5, 2.0)  # w - mu v, a halved or doubled look-ahead; and lr mu v


def _look_ahead(
    seq: list, ref: Reference, X: Any, y: Any, spec: Spec, tol: tuple[float, float],
    held: dict[str, str],
) -> float | None:  # fmt: skip
    """The factor c on the look-ahead, w + c mu (w - w_prev), that takes every step of
    ``seq``, among ``LOOK_AHEADS`` and the learning rate; else None."""
    lr = (_declared(spec) or (0.0, 0.0))[1]
    for c in (*LOOK_AHEADS, lr):
        w_prev, ok = seq[0].params, True
        for o in seq:
            if _parts(w_prev, o.params, o.after, o.rows, ref, X, y, spec, tol, held, c):
                ok = False
                break
            w_prev = o.params
        if ok:
            return c
    return None


def _slipped(c: float, names: tuple[str, ...]) -> Finding:
    said = "w - mu v" if c == -1.0 else f"w + {c:g} mu v"
    said = said if c in LOOK_AHEADS else "w + lr mu v (the learning rate on it)"
    return Finding(
        "optimizer_update_mismatch",
        names,
        None,
        2,
        "your steps are Sutskever et al.'s form of Nesterov momentum (the gradient at a "
        f"look-ahead point, w kept) with the look-ahead point {said} where w + mu v "
        "belongs (v = w - w_prev, your last step): the same as PyTorch's Nesterov at step 1, "
        "where v = 0, and apart from step 2",
        "take the gradient at w + mu * v (your weights plus mu times your velocity), then "
        "v = mu * v - lr * g and w += v",
    )


def watch_form(
    diag: list[Finding], runner: Runner, ref: Reference, X: Any, y: Any, batches: list,
    watch: int, history: list, tol: tuple[float, float],
) -> list[Finding]:  # fmt: skip
    """``diag`` unchanged unless it is the ``nesterov_form`` note; then the learner's steps go
    on from where the compared steps ended, through step ``watch``, each judged under the
    look-ahead reading: the note where they all follow it, else the step where one parts."""
    if not diag or diag[0].code != FORM or not history:
        return diag
    spec, held = ref.spec, runner.codec.held_in()
    last = history[-1][0]
    w_prev, w = last.params, last.after
    for k in range(last.step + 1, watch + 1):
        rows = rows_at(batches, k)
        try:
            obs = runner.observe(k, w, rows)
        except LearnerCrash as e:
            return [e.finding]
        if obs.after is None:
            return diag
        bad = _parts(w_prev, w, obs.after, rows, ref, X, y, spec, tol, held)
        if bad:
            return [_late(k, runner.codec.labels(bad))]
        w_prev, w = w, obs.after
    return [_note(max(watch, last.step))]


def _note(step: int) -> Finding:
    return Finding(
        FORM,
        (),
        None,
        None,
        "your Nesterov momentum is Sutskever et al.'s form: the gradient at the look-ahead "
        "point w - lr mu v, with w kept, where PyTorch's SGD(nesterov=True) keeps the "
        "look-ahead point itself; your weights part from PyTorch's by lr mu v at every step, "
        "and each of your steps through step "
        f"{step} is PyTorch's Nesterov step from your look-ahead point: the same optimizer",
        "nothing to fix; to compare your weights with PyTorch's, take w + mu (w - w_prev), "
        "your weights plus mu times your last step",
        "note",
    )


def _late(step: int, names: tuple[str, ...]) -> Finding:
    return Finding(
        "nesterov_form_mismatch",
        names,
        None,
        step,
        f"your steps follow Sutskever et al.'s form of Nesterov momentum (the gradient at the "
        f"look-ahead point w - lr mu v, with w kept) until step {step}, where your "
        f"{', '.join(names)} part from PyTorch's Nesterov step at your look-ahead point: a "
        "bug that starts there (a derivative your data first reach then, a learning rate "
        "that changes)",
        "run your gradient at that step beside a finite-difference estimate at the look-ahead "
        "point w + mu (w - w_prev)",
    )
