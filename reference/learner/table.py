"""The comparisons of one step (``nnparity.reference.compare`` records: forward output, loss, each
gradient, each post-step weight) and the per-parameter table built from all of them."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from nnparity.reference.compare import Record, compare
from nnparity.reference.judge import ROUNDOFF_FLOOR, TINY, _with_oracle, _within_rtol
from nnparity.reference.roundoff import SAFETY, unit_roundoff
from nnparity.reference.tolerance import Tolerance

from .codec import Codec
from .result import ParamRow
from .runner import Obs
from .torch_side import RefStep

TERMS_FLOOR = 1e-6  # near a minimum the gradients cancel to round-off of the terms they sum


@dataclass(frozen=True)
class Tolerances:
    """Each quantity is judged at the tolerance of the dtype the learner holds it in (its
    gradient or output array, a weight's storage), never finer than the twin's dtype: NumPy
    computes in the widest dtype of its operands, so a float16 bias beside float64 data
    rounds nothing but its own storage, and a float64 gradient is judged as float64 (a float16
    bias made every tensor float16's, rtol 1e-2: a 1% error passed). ``program``: the
    narrowest dtype of the weights, for what no array tells (a loss without an output). A
    wider quantity that parts by no more than ``program``'s round-off, and by no constant
    factor, passes (``narrow_noise``) where a weight matrix is narrow (``mixed``): a narrow
    forward or cache summed into wider arrays.
    A float16 weight's post-step value may be off by the rounding of its storage: one
    float16 spacing at its old and new values."""

    by: dict[str, Tolerance]  # "float16", "float32", "float64"
    twin: str
    program: str
    storage: dict[str, str]  # canonical name -> its weight's dtype

    def dtype(self, held: str | None) -> str:
        d = held if held in self.by else self.program
        return min((d, self.twin), key=lambda n: np.dtype(n).itemsize)

    def of(self, held: str | None) -> Tolerance:
        return self.by[self.dtype(held)]

    def mixed(self, dt: str) -> bool:
        """Whether a quantity held in ``dt`` may carry ``program``'s round-off: a weight
        matrix is stored narrower (a product with it can be narrow, where the learner casts
        its data or a cache to match); a narrow bias alone is only ever added in wider."""
        narrow = np.dtype(self.program).itemsize
        return narrow < np.dtype(dt).itemsize and any(
            np.dtype(d).itemsize == narrow for k, d in self.storage.items() if k[0] == "W"
        )


def narrow_noise(a: Any, e: Any) -> bool:
    """Whether ``a - e`` is no constant factor: the best c in a ~ c e leaves at least a fifth
    of the difference (round-off scatters; a factor, a sign, a 1/(N - 1) leaves ~nothing).
    A tensor of fewer than 4 elements tells no factor from scatter, only its sign."""
    a, e = np.asarray(a, np.float64).ravel(), np.asarray(e, np.float64).ravel()
    den = float(e @ e)
    if den == 0 or not (np.isfinite(a).all() and np.isfinite(e).all()):
        return False
    c = float(a @ e) / den
    before = float(np.abs(a - e).max(initial=0.0))
    return c > 0 and (a.size < 4 or float(np.abs(a - c * e).max(initial=0.0)) > 0.2 * before)


def _f16_spacing(*arrays: Any) -> Any:
    """One float16 spacing at each element's magnitude, summed over ``arrays``."""
    with np.errstate(over="ignore", invalid="ignore"):  # (a value past float16's range)
        return sum(
            np.spacing(np.abs(np.asarray(a, np.float64)).astype(np.float16)).astype(np.float64)
            for a in arrays
        )


def records_of(
    obs: Obs,
    rs: RefStep,
    expected: dict | None,
    tols: Tolerances,
    text: str,
    frozen: set,
    oracle: RefStep | None = None,
    terms: float = 0.0,
    gbound: Callable[[], dict[str, Any]] | None = None,
    ubound: Callable[[], dict[str, Any]] | None = None,
    nbound: Callable[[], dict[str, Any]] | None = None,
    log_terms: float = 0.0,
) -> list[Record]:
    """One record per quantity the learner showed at this step, against the twin's (grads share
    one atol scale, max |PyTorch gradient| of the step, at least ``TERMS_FLOOR * terms`` (the
    size of the terms a gradient sums: ``terms_of``) and, for a
    gradient held in float16, 1: float16 round-off does not shrink with its gradients; implied
    gradients add their noise). Each quantity's tolerance is its dtype's (``Tolerances``).
    For float32, ``oracle`` is the float64 twin at the same weights: a record outside tolerance
    still passes when the learner is no further from it than ``ORACLE_FACTOR`` times PyTorch's
    own float32 error (the parity engine's rule).
    ``gbound`` (called only when a gradient record fails its tolerance) gives each gradient
    element's round-off allowance ``R_g``, ``ubound`` (likewise) each post-step weight's:
    they are added to the tolerance as in the engine, and with them the oracle judges element
    by element (outside the allowance, no further from float64 than ``ORACLE_FACTOR`` times
    the larger of PyTorch's error and ``R``). A gradient held in the twin's dtype with an
    element outside ``rtol |e|`` is judged as in the engine: ``atol`` on its own
    tensor's scale, the floor at most ``ROUNDOFF_FLOOR * R`` (R computed then), so a small
    tensor or one saturated unit is not excused by the step's largest gradient or the terms
    floor (R covers a cancelled sum's terms). ``nbound``: a mixed learner's allowances at its
    narrowest dtype's round-off (``Tolerances.mixed``), for a wider gradient that parts by
    it. ``log_terms``: a log-based loss value's round-off in units of its dtype's u
    (``loss_terms``), added to its tolerance."""

    def rec(
        a: Any,
        e: Any,
        stage: str,
        tensor: str,
        t: Tolerance,
        scale: float | None = None,
        ref64: Any = None,
        bound: Any = None,
        lazy: Callable[[], Any] | None = None,
        margin: Any = None,
    ) -> Record:
        def one(bd: Any) -> Record:
            return compare(
                a,
                e,
                t,
                spec=text,
                mode="learner",
                step=obs.step,
                stage=stage,
                tensor=tensor,
                scale=scale,
                check_dtype=False,  # a learner's dtype is whatever its code computes in
                bound=bd,
            )

        r = one(bound)
        if not r.passed and bound is None and lazy is not None:
            bound = lazy()
            r = r if bound is None else one(bound)
        if ref64 is None:
            return r
        if bound is None:  # no allowance (a layered spec): the two tensors' largest errors
            return _with_oracle(r, a, e, np.asarray(ref64, dtype=np.float64))
        own = float(np.abs(np.asarray(e, dtype=np.float64)).max(initial=0.0)) or 1.0
        t_own = Tolerance(t.rtol, t.atol * (scale or own) / own)  # the same atol, own scale
        return _with_oracle(
            r, a, e, np.asarray(ref64, dtype=np.float64), t_own, bound, margin=margin
        )

    def narrow(
        r: Record, a: Any, e: Any, dt: str, stage: str, k: str, scale: float = 0.0
    ) -> Record:
        """``r``, or a pass where it parts by ``program``'s round-off and no factor: within
        that dtype's tolerance on the terms' scale and, for a float32 program's gradient,
        within its envelope at float32's round-off (``nbound``) as the engine judges, or with
        no envelope at that tolerance on ``scale`` (the step's largest gradient and the terms'
        floor, as a program all in float32 is judged); never where the forward output, held
        wide, agrees as only wide arithmetic does (``wide``: a float16 weight times float64
        data is float64's)."""
        if r.passed or not tols.mixed(dt) or wide[0] or not narrow_noise(a, e):
            return r
        t = tols.by[tols.program]
        own = float(np.abs(np.asarray(e, np.float64)).max(initial=0.0))
        again = rec(a, e, stage, k, t, max(own, terms) or 1.0)
        if again.passed and stage == "grad" and tols.program != "float16":  # and within both
            R = _get(nbound, k) if nbound is not None else None
            if R is not None and np.shape(R) == np.shape(e):
                bd = R + np.minimum(t.atol * (own or 1.0), ROUNDOFF_FLOOR * R)
                again = rec(a, e, stage, k, t, TINY, bound=bd)
            else:
                again = rec(a, e, stage, k, t, max(own, scale) or 1.0)
        return again if again.passed else r

    o = oracle
    out = []
    held = obs.held.get("output")
    wide = [False]  # the output is held wide and agrees as wide arithmetic does
    if obs.out is not None:
        dt = tols.dtype(held)
        r = rec(obs.out, rs.out, "forward", "output", tols.by[dt], ref64=o and o.out)
        if tols.mixed(dt):  # nearer than the geometric mean of the two dtypes' epsilons
            gap = np.abs(np.asarray(obs.out, np.float64) - np.asarray(rs.out, np.float64))
            near = math.sqrt(np.finfo(tols.program).eps * np.finfo(dt).eps)
            wide[0] = bool(gap.max(initial=0.0) <= near * np.abs(rs.out).max(initial=0.0))
        out.append(narrow(r, obs.out, rs.out, dt, "forward", "output", terms))
    if obs.loss is not None:  # computed from the output, else as narrow as any array returned
        held = held or min(obs.held.values(), key=lambda n: np.dtype(n).itemsize, default=None)
        lb = log_terms * unit_roundoff(tols.dtype(held)) if log_terms else None
        out.append(
            rec(obs.loss, rs.loss, "loss", "loss", tols.of(held), ref64=o and o.loss, bound=lb)
        )
    if obs.grads is not None:
        top = max(float(np.abs(g).max(initial=0.0)) for g in rs.grads.values()) or 1.0
        for k, g in obs.grads.items():
            dt = tols.dtype(tols.storage.get(k) if obs.implied else obs.held.get(k))
            tol = tols.by[dt]
            scale = max(top, TERMS_FLOOR * terms, 1.0 if dt == "float16" else 0.0)
            noise = obs.noise.get(k, 0.0)
            e = rs.grads[k]
            R = None
            capped = dt == tols.twin
            if gbound is not None and capped and not _within_rtol({k: (g, e)}, tol.rtol):
                R = _get(gbound, k)
            if R is not None and np.shape(R) == np.shape(e):
                # the engine's rule: the tensor's own atol scale, each element's floor capped
                # by its own round-off (1e4 R), so one saturated unit or a small tensor beside
                # large ones is judged on its own terms, not on the step's largest gradient
                own = float(np.abs(np.asarray(e, dtype=np.float64)).max(initial=0.0)) or 1.0
                bd = R + np.minimum(tol.atol * own, ROUNDOFF_FLOOR * R) + noise
                r = rec(g, e, "grad", k, tol, TINY, o and o.grads[k], bd, margin=R / SAFETY)
            else:
                t = Tolerance(tol.rtol, tol.atol + noise / scale)
                lazy = None if gbound is None else partial(_get, gbound, k)
                r = rec(g, e, "grad", k, t, scale, o and o.grads[k], lazy=lazy)
            out.append(narrow(r, g, e, dt, "grad", k, max(top, TERMS_FLOOR * terms)))
    if expected is not None:
        for k, p in obs.after.items():
            if k in frozen:
                continue
            stored = tols.dtype(tols.storage.get(k))
            lazy = (
                partial(_get, ubound, k)
                if ubound is not None
                else partial(_sum_rounding, obs.params[k], expected[k], stored)
            )
            bd = _f16_spacing(expected[k], obs.params[k]) if stored == "float16" else None
            if bd is not None and lazy is not None:  # tried bare first, then with both
                bd, lazy = None, partial(_plus, bd, lazy)
            out.append(rec(p, expected[k], "update", k, tols.of(stored), bound=bd, lazy=lazy))
    return out


def _sum_rounding(p: Any, e: Any, dtype: str) -> Any:
    """The round-off of a post-step weight p + d (d = e - p, PyTorch's step from the learner's
    own gradients) in ``dtype``: u |p| for the sum, 4u |d| for the step's own operations (a
    product rounded first in NumPy, fused in torch's add_). Only where the two cancel does it
    exceed the tolerance's rtol |e| (review s28 t12: float32 SGD at lr 1e-6, b = 1.1e-14 minus
    its step gave 0 in NumPy and -4.2e-22 in PyTorch, read as a weight decay); a skipped update
    passes it only where PyTorch's own step is below one unit in the last place of p."""
    u = unit_roundoff(dtype)
    p64, e64 = np.asarray(p, np.float64), np.asarray(e, np.float64)
    return u * np.abs(p64) + 4 * u * np.abs(e64 - p64)


def _plus(bd: Any, lazy: Callable[[], Any]) -> Any:
    more = lazy()
    return bd if more is None else bd + more


def _get(bounds: Callable[[], dict[str, Any]], k: str) -> Any:
    """The allowance of ``k`` (None when there is none), computed once per step."""
    return bounds().get(k)


def param_table(records: list[Record], history: list, codec: Codec) -> tuple[ParamRow, ...]:
    """One row per compared quantity: first bad step, the differences there (or the worst),
    and for gradients c = <g, g_torch> / <g_torch, g_torch> and the cosine."""
    rows: dict[tuple[str, str], list[Record]] = {}
    for r in records:
        rows.setdefault((r.stage, r.tensor), []).append(r)
    out = []
    for (stage, tensor), recs in rows.items():
        bad = [r for r in recs if not r.passed]
        worst = bad[0] if bad else max(recs, key=lambda r: r.max_abs)
        c = cos = None
        if stage == "grad" and bad:
            obs, rs, _ = history[bad[0].step - 1]
            g, e = obs.grads[tensor].ravel(), rs.grads[tensor].astype(np.float64).ravel()
            den = float(e @ e)
            if den > 0 and np.isfinite(g).all():
                c = float(g @ e) / den
                cos = float(g @ e) / max(np.sqrt(den * float(g @ g)), 1e-300)
        name = codec.label(tensor) if stage in ("grad", "update") else tensor
        out.append(
            ParamRow(
                name,
                tensor,
                codec.own(tensor, worst.shape) if stage in ("grad", "update") else worst.shape,
                len(recs),
                bad[0].step if bad else None,
                stage,
                worst.max_abs,
                worst.max_rel,
                c,
                cos,
            )
        )
    return tuple(out)


def terms_of(rs: RefStep, y: Any) -> float:
    """The size of the terms a gradient sums, max |a_(l-1)| times max(|a_L|, |y|): the least
    scale of the gradients' tolerance, so that a gradient that has cancelled to nearly zero
    (a converged fit) is judged by its absolute error, not by its relative one."""
    acts = max(float(t.abs().max()) for t in rs.a[:-1])
    out = float(np.abs(rs.out).max(initial=0.0))
    yv = float(np.abs(y).max(initial=0.0)) if np.issubdtype(y.dtype, np.floating) else 1.0
    return acts * max(out, yv)


LOG_LOSSES = ("cross_entropy", "nll", "bce", "bce_with_logits")


def loss_terms(loss: Any, outputs: int, rows: int) -> float:
    """The round-off of a log-based loss value as a learner computes it, -log p from its own
    probabilities, in units of its dtype's u: each log term off by the relative error of p,
    about (K + 4) u for a softmax over K classes (exp, the sum, the division, the log) and 8 u
    for a sigmoid's, whatever p is (1.4e-7 on a float32 loss of 0.0055, summed over 12 rows,
    was a loss_value_mismatch: review s24c F5); times the terms the reduction adds (a mean
    averages them). 0 for another loss."""
    if loss.name not in LOG_LOSSES:
        return 0.0
    per = outputs + 4 if loss.name in ("cross_entropy", "nll") else 8
    units = outputs if loss.name.startswith("bce") else 1  # bce: a term per output
    terms = {"sum": rows * units, "batch": units}.get(loss.kwargs.get("reduction", "mean"), 1)
    return float(per * terms)


def mixed_text(prec: str, dtype: str) -> str:
    """The twin line's words on a learner whose arrays include a narrower dtype."""
    if prec == dtype:
        return ""
    return (
        f" (your arrays include {prec}: each quantity judged at the tolerance of the dtype it "
        f"is held in; a difference within {prec}'s round-off, of no constant factor, passes)"
    )
